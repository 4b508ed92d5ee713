import { Model } from 'objection';

/** A text file in a workspace, versioned by `revision`. */
export class WorkspaceFile extends Model {
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
