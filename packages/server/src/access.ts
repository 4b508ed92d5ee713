import Boom from '@hapi/boom';
import type { Knex } from 'knex';
import type { Role } from '@collab/protocol';
import { Membership, Workspace } from '@collab/core';

const MAX_ID = 2147483647;

const isId = (value: number) => Number.isSafeInteger(value) && value >= 1 && value <= MAX_ID;

/**
 * The user's role in a project. Throws 404 `Project not found` when the project
 * does not exist or the user is not a member, so existence is never revealed.
 * Pass the transaction as `db` when called inside one.
 */
export async function projectAccess(db: Knex, projectId: number, userId: number): Promise<Role> {
    if (!isId(projectId) || !isId(userId)) {
        throw Boom.notFound('Project not found');
    }

    // The foreign key makes a membership proof that the project exists: no join needed.
    const membership = await Membership.query(db).select('role').findOne({ project_id: projectId, user_id: userId });
    if (!membership) {
        throw Boom.notFound('Project not found');
    }

    return membership.role;
}

/**
 * A workspace and the user's role in its project, in one query. Throws 404
 * `Workspace not found` when it does not exist or the user is not a member of its project.
 */
export async function workspaceAccess(db: Knex, workspaceId: number, userId: number): Promise<{ workspace: Workspace; role: Role }> {
    if (!isId(workspaceId) || !isId(userId)) {
        throw Boom.notFound('Workspace not found');
    }

    const row = await db(Workspace.tableName)
        .select('workspaces.*', 'memberships.role as member_role')
        .join('memberships', 'memberships.project_id', 'workspaces.project_id')
        .where('workspaces.id', workspaceId)
        .where('memberships.user_id', userId)
        .first() as (Record<string, unknown> & { member_role: Role }) | undefined;
    if (!row) {
        throw Boom.notFound('Workspace not found');
    }

    const { member_role: role, ...columns } = row;
    return { workspace: Workspace.fromDatabaseJson(columns), role };
}

/**
 * Throws 403 naming the refused action unless `role` is one of `allowed`,
 * e.g. `Your role (viewer) does not allow deleting this project`.
 */
export function requireRole(role: Role, allowed: readonly Role[], action: string): void {
    if (!allowed.includes(role)) {
        throw Boom.forbidden(`Your role (${role}) does not allow ${action}`);
    }
}
