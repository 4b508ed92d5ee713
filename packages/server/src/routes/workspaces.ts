import Boom from '@hapi/boom';
import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { raw } from 'objection';
import { WRITER_ROLES } from '@collab/protocol';
import { Workspace } from '@collab/core';

import { projectAccess, requireRole, workspaceAccess } from '../access.js';
import { paginate } from '../pagination.js';
import { caller } from '../plugins/auth.js';
import { errors, pageQuery } from '../schemas/common.js';
import { projectParams } from '../schemas/projects.js';
import { createWorkspace, updateWorkspace, workspace, workspaceList, workspaceParams } from '../schemas/workspaces.js';

const tags = ['api', 'workspaces'];

interface WorkspaceFields {
    name?: string;
    description?: string;
}

/** Routes of `/api/projects/projects/{id}/workspaces/` and `/api/projects/workspaces/{id}/`. */
export const workspaceRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: '/api/projects/projects/{id}/workspaces',
        options: {
            tags,
            description: 'Workspaces of a project, by id; paginated (limit, cursor, Link rel="next")',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 404, 429) } },
            validate: { params: projectParams, query: Joi.object(pageQuery) },
            response: { status: { 200: workspaceList } },
            handler: async (request, h) => {
                const db = request.server.app.db;
                const { id } = request.params as { id: number };
                await projectAccess(db, id, caller(request).id);
                return paginate(request, h, Workspace.query(db).where('workspaces.project_id', id), {
                    column: 'workspaces.id',
                    kind: 'id',
                    key: (row) => row.id,
                    show: Workspace.toApi
                });
            }
        }
    },
    {
        method: 'POST',
        path: '/api/projects/projects/{id}/workspaces',
        options: {
            tags,
            description: 'Create a workspace in a project (owner, collaborator)',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 429) } },
            validate: { params: projectParams, payload: createWorkspace },
            response: { status: { 201: workspace } },
            handler: async (request, h) => {
                const db = request.server.app.db;
                const { id } = request.params as { id: number };
                const { name, description = '' } = request.payload as WorkspaceFields & { name: string };
                requireRole(await projectAccess(db, id, caller(request).id), WRITER_ROLES, 'creating workspaces');
                const created = await Workspace.query(db).insert({ project_id: id, name, description }).returning('*');
                return h.response(Workspace.toApi(created)).code(201);
            }
        }
    },
    {
        method: 'GET',
        path: '/api/projects/workspaces/{id}',
        options: {
            tags,
            description: 'A workspace of a project the caller is a member of',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 404, 429) } },
            validate: { params: workspaceParams },
            response: { status: { 200: workspace } },
            handler: async (request) => {
                const { id } = request.params as { id: number };
                const { workspace: found } = await workspaceAccess(request.server.app.db, id, caller(request).id);
                return Workspace.toApi(found);
            }
        }
    },
    {
        method: 'PATCH',
        path: '/api/projects/workspaces/{id}',
        options: {
            tags,
            description: 'Update a workspace\'s name or description (owner, collaborator)',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 429) } },
            validate: { params: workspaceParams, payload: updateWorkspace },
            response: { status: { 200: workspace } },
            handler: async (request) => {
                const db = request.server.app.db;
                const { id } = request.params as { id: number };
                const { role } = await workspaceAccess(db, id, caller(request).id);
                requireRole(role, WRITER_ROLES, 'editing this workspace');
                const updated = await Workspace.query(db).patch({ ...(request.payload as WorkspaceFields), updated_at: raw('now()') })
                    .where('id', id).returning('*').first();
                if (!updated) {
                    throw Boom.notFound('Workspace not found');
                }

                return Workspace.toApi(updated);
            }
        }
    },
    {
        method: 'DELETE',
        path: '/api/projects/workspaces/{id}',
        options: {
            tags,
            description: 'Delete a workspace and its files (owner)',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 429) } },
            validate: { params: workspaceParams },
            response: { status: { 204: Joi.any().empty() } },
            handler: async (request, h) => {
                const { id } = request.params as { id: number };
                const projectId = await request.server.app.db.transaction(async (trx) => {
                    const { workspace, role } = await workspaceAccess(trx, id, caller(request).id);
                    requireRole(role, ['owner'], 'deleting this workspace');
                    await Workspace.query(trx).deleteById(id);
                    return workspace.project_id;
                });
                await request.server.plugins['collab-realtime'].control.announceMembershipChange(projectId).catch(() => undefined);   // live sockets lose the workspace
                return h.response().code(204);
            }
        }
    }
];
