import { BaseModel } from './base-model.js';

/** A text file in a workspace, versioned by `revision`. */
export class WorkspaceFile extends BaseModel {
    static override tableName = 'files';
    static override idColumn = ['workspace_id', 'path'];

    workspace_id!: number;
    path!: string;
    content!: string;
    revision!: number;
    size!: number;
    updated_at!: string;
    updated_by!: number | null;
}
