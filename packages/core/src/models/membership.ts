import { Model } from 'objection';
import type { Role } from '@collab/protocol';

/** A user's role in a project. */
export class Membership extends Model {
    static override tableName = 'memberships';
    static override idColumn = ['project_id', 'user_id'];

    project_id!: number;
    user_id!: number;
    role!: Role;
    added_at!: string;
}
