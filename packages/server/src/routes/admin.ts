import Boom from '@hapi/boom';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import { JOB_ID_PATTERN } from '@collab/protocol';
import { User } from '@collab/core';

import { adminView, updateUser, type UserChanges } from '../admin/users.js';
import { audit, requireAdmin } from '../admin/guard.js';
import { systemStats } from '../admin/stats.js';
import { paginate } from '../pagination.js';
import { adminUser, adminUserList, retried, retryParams, stats, userParams, userPatch, userQuery } from '../schemas/admin.js';
import { errors } from '../schemas/common.js';

const tags = ['api', 'admin'];
// Checked before validation, so a non-admin learns nothing from a malformed request.
const ext = { onPostAuth: { method: async (request: Request, h: ResponseToolkit) => (await requireAdmin(request), h.continue) } };

/** Routes of `/api/admin/`: administrators only (403 for everyone else). */
export const adminRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: '/api/admin/users',
        options: {
            tags,
            description: 'Users by id, optionally matching `q` (case-insensitive substring of email or name); paginated',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 429) } },
            ext,
            validate: { query: userQuery },
            response: { status: { 200: adminUserList } },
            handler: (request, h) => {
                const { q } = request.query as { q?: string };
                const query = User.query(request.server.app.db);
                if (q) {
                    const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
                    query.where((where) => where.whereILike('email', pattern).orWhereILike('name', pattern));
                }

                return paginate(request, h, query, { column: 'users.id', kind: 'id', key: (row) => row.id, show: adminView });
            }
        }
    },
    {
        method: 'PATCH',
        path: '/api/admin/users/{id}',
        options: {
            tags,
            description: 'Activate, deactivate, promote or demote a user. Deactivation refuses their tokens at once, revokes their refresh tokens, closes their sockets on every instance and cancels their queued jobs; the last active admin cannot be demoted or deactivated (409)',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 409, 429) } },
            ext,
            validate: { params: userParams, payload: userPatch },
            response: { status: { 200: adminUser } },
            handler: async (request) => {
                const { id } = request.params as { id: number };
                const changes = request.payload as UserChanges;
                const outcome = await updateUser(request.server, id, changes);
                audit(request, 'user.update', { target_user_id: id, changes, cancelled_jobs: outcome.cancelled_jobs });
                return adminView(outcome.user);
            }
        }
    },
    {
        method: 'GET',
        path: '/api/admin/stats',
        options: {
            tags,
            description: 'Counts of users, projects, workspaces; live sockets per server instance; jobs by status; live workers',
            plugins: { 'hapi-swagger': { responses: errors(401, 403, 429, 503) } },
            ext,
            response: { status: { 200: stats } },
            handler: (request) => systemStats(request.server)
        }
    },
    {
        method: 'POST',
        path: '/api/admin/jobs/{job_id}/retry',
        options: {
            tags,
            description: 'Re-queue a job that ended in `error` (409 for any other status)',
            plugins: { 'hapi-swagger': { responses: errors(401, 403, 404, 409, 429) } },
            ext,
            validate: { params: retryParams },
            response: { status: { 202: retried } },
            handler: async (request, h) => {
                const { job_id: jobId } = request.params as { job_id: string };
                if (!JOB_ID_PATTERN.test(jobId)) {
                    throw Boom.notFound('Job not found');
                }

                const outcome = await request.server.plugins['collab-jobs'].producer.retry(request.server.app.db, jobId);
                if (!outcome) {
                    throw Boom.notFound('Job not found');
                }

                if (outcome === 'conflict') {
                    throw Boom.conflict('Only a job that ended in error can be retried');
                }

                audit(request, 'job.retry', { job_id: jobId });
                return h.response({ message: 'Job re-queued', job_id: jobId, status: 'queued' }).code(202);
            }
        }
    }
];
