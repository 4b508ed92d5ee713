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

    /** The workspace as the API shows it. */
    toApi() {
        return {
            id: this.id,
            project: this.project_id,
            name: this.name,
            description: this.description,
            created_at: this.created_at,
            updated_at: this.updated_at
        };
    }
}
