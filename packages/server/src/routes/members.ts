import Boom from '@hapi/boom';
import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import type { Knex } from 'knex';
import { UniqueViolationError } from 'objection';
import type { Role } from '@collab/protocol';
import { Membership, User } from '@collab/core';

import { projectAccess, requireRole } from '../access.js';
import type { AuthUser } from '../context.js';
import { paginate } from '../pagination.js';
import { caller } from '../plugins/auth.js';
import { errors, pageQuery } from '../schemas/common.js';
import { addMember, changeRole, member, memberList, memberParams } from '../schemas/members.js';
import { projectParams } from '../schemas/projects.js';

const tags = ['api', 'members'];
const OWNER: readonly Role[] = ['owner'];
const LAST_OWNER = 'A project must keep at least one owner: make another member owner first';

/** A membership joined with its user's public fields. */
type MemberRow = Membership & { email: string; name: string };

const show = (row: MemberRow) => ({ user: { id: row.user_id, email: row.email, name: row.name }, role: row.role, added_at: row.added_at });

const members = (db: Knex, projectId: number) => Membership.query(db)
    .select('memberships.*', 'users.email', 'users.name')
    .join('users', 'users.id', 'memberships.user_id')
    .where('memberships.project_id', projectId);

async function findMember(trx: Knex, projectId: number, userId: number): Promise<MemberRow> {
    const row = await members(trx, projectId).where('memberships.user_id', userId).first() as MemberRow | undefined;
    if (!row) {
        throw Boom.notFound('Member not found');
    }

    return row;
}

/**
 * Locks the project's owner memberships for the rest of the transaction, so two
 * concurrent demotions or removals cannot both see a second owner. The caller's
 * role is read again once the lock is held: it may have changed while waiting.
 */
async function lockOwners(trx: Knex.Transaction, projectId: number, me: AuthUser, action: string | null): Promise<number[]> {
    const rows = await Membership.query(trx).select('user_id').where({ project_id: projectId, role: 'owner' }).orderBy('user_id').forUpdate();
    const owners = rows.map((row) => row.user_id);
    if (action && !owners.includes(me.id)) {
        requireRole(await projectAccess(trx, projectId, me.id), OWNER, action);
    }

    return owners;
}

/** Routes of `/api/projects/projects/{id}/members/`. */
export const memberRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: '/api/projects/projects/{id}/members',
        options: {
            tags,
            description: 'Members of a project with their roles, by user id; paginated (limit, cursor, Link rel="next")',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 404, 429) } },
            validate: { params: projectParams, query: Joi.object(pageQuery) },
            response: { status: { 200: memberList } },
            handler: async (request, h) => {
                const db = request.server.app.db;
                const { id } = request.params as { id: number };
                await projectAccess(db, id, caller(request).id);
                return paginate(request, h, members(db, id), {
                    column: 'memberships.user_id',
                    kind: 'id',
                    key: (row) => row.user_id,
                    show: (row) => show(row as MemberRow)
                });
            }
        }
    },
    {
        method: 'POST',
        path: '/api/projects/projects/{id}/members',
        options: {
            tags,
            description: 'Add a user, by email or user_id, to a project (owner)',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 409, 429) } },
            validate: { params: projectParams, payload: addMember },
            response: { status: { 201: member } },
            handler: async (request, h) => {
                const { id } = request.params as { id: number };
                const { email, user_id: userId, role } = request.payload as { email?: string; user_id?: number; role: Role };
                const added = await request.server.app.db.transaction(async (trx) => {
                    requireRole(await projectAccess(trx, id, caller(request).id), OWNER, 'adding members');
                    const user = await User.query(trx).findOne(email ? { email } : { id: userId! });
                    if (!user) {
                        throw Boom.notFound('User not found');
                    }

                    if (await Membership.query(trx).findOne({ project_id: id, user_id: user.id })) {
                        throw Boom.conflict('User is already a member of this project');
                    }

                    try {
                        await Membership.query(trx).insert({ project_id: id, user_id: user.id, role });
                    }
                    catch (err) {
                        throw err instanceof UniqueViolationError ? Boom.conflict('User is already a member of this project') : err;
                    }

                    return findMember(trx, id, user.id);
                });
                return h.response(show(added)).code(201);
            }
        }
    },
    {
        method: 'PATCH',
        path: '/api/projects/projects/{id}/members/{user_id}',
        options: {
            tags,
            description: 'Change a member\'s role (owner); the last owner cannot be demoted (409)',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 409, 429) } },
            validate: { params: memberParams, payload: changeRole },
            response: { status: { 200: member } },
            handler: async (request) => {
                const me = caller(request);
                const { id, user_id: userId } = request.params as { id: number; user_id: number };
                const { role } = request.payload as { role: Role };
                const changed = await request.server.app.db.transaction(async (trx) => {
                    requireRole(await projectAccess(trx, id, me.id), OWNER, 'changing member roles');
                    const owners = await lockOwners(trx, id, me, 'changing member roles');
                    const target = await findMember(trx, id, userId);
                    if (role !== 'owner' && owners.every((owner) => owner === userId)) {
                        throw Boom.conflict(LAST_OWNER);
                    }

                    if (!await Membership.query(trx).patch({ role }).where({ project_id: id, user_id: userId })) {
                        throw Boom.notFound('Member not found');
                    }

                    target.role = role;
                    return target;
                });
                await request.server.plugins['collab-realtime'].control.announceMembershipChange(id, userId);
                return show(changed);
            }
        }
    },
    {
        method: 'DELETE',
        path: '/api/projects/projects/{id}/members/{user_id}',
        options: {
            tags,
            description: 'Remove a member (owner), or leave a project (the member itself); the last owner cannot be removed (409)',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 409, 429) } },
            validate: { params: memberParams },
            response: { status: { 204: Joi.any().empty() } },
            handler: async (request, h) => {
                const me = caller(request);
                const { id, user_id: userId } = request.params as { id: number; user_id: number };
                const action = userId === me.id ? null : 'removing other members';
                await request.server.app.db.transaction(async (trx) => {
                    const role = await projectAccess(trx, id, me.id);
                    if (action) {
                        requireRole(role, OWNER, action);
                    }

                    const owners = await lockOwners(trx, id, me, action);
                    await findMember(trx, id, userId);
                    if (owners.every((owner) => owner === userId)) {
                        throw Boom.conflict(LAST_OWNER);
                    }

                    await Membership.query(trx).delete().where({ project_id: id, user_id: userId });
                });
                await request.server.plugins['collab-realtime'].control.announceMembershipChange(id, userId);
                return h.response().code(204);
            }
        }
    }
];
