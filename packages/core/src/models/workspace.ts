import { Model, type ModelObject } from 'objection';

/** A workspace inside a project: files and a live event stream. */
export class Workspace extends Model {
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
