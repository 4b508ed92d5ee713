import type { ModelObject } from 'objection';

import { BaseModel } from './base-model.js';

/** A workspace inside a project: files and a live event stream. */
export class Workspace extends BaseModel {
    static override tableName = 'workspaces';

    id!: number;
    project_id!: number;
    name!: string;
    description!: string;
    created_at!: string;
    updated_at!: string;

    /** A workspace as the API shows it. */
    static toApi(workspace: ModelObject<Workspace>) {
        return {
            id: workspace.id,
            project: workspace.project_id,
            name: workspace.name,
            description: workspace.description,
            created_at: workspace.created_at,
            updated_at: workspace.updated_at
        };
    }
}
