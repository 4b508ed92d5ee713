import { Model } from 'objection';

/** Roles within a project, strongest first. */
export const ROLES = ['owner', 'collaborator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Roles that may write (edit projects and workspaces, files, events, jobs). */
export const WRITER_ROLES: readonly Role[] = ['owner', 'collaborator'];

/** A user's role in a project. */
export class Membership extends Model {
    static override tableName = 'memberships';
    static override idColumn = ['project_id', 'user_id'];

    project_id!: number;
    user_id!: number;
    role!: Role;
    added_at!: string;
}
