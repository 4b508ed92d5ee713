import Boom from '@hapi/boom';
import type { Request, ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { raw } from 'objection';
import { WRITER_ROLES } from '@collab/protocol';
import { Project } from '@collab/core';

import { projectAccess, requireRole } from '../access.js';
import { paginate } from '../pagination.js';
import { caller } from '../plugins/auth.js';
import { errors, pageQuery } from '../schemas/common.js';
import { createProject, project, projectList, projectParams, replaceProject, updateProject } from '../schemas/projects.js';

const tags = ['api', 'projects'];

interface ProjectFields {
    name?: string;
    description?: string;
}

async function update(request: Request) {
    const db = request.server.app.db;
    const { id } = request.params as { id: number };
    const role = await projectAccess(db, id, caller(request).id);
    requireRole(role, WRITER_ROLES, 'editing this project');
    const updated = await Project.query(db).patch({ ...(request.payload as ProjectFields), updated_at: raw('now()') })
        .where('id', id).returning('*').first();
    if (!updated) {
        throw Boom.notFound('Project not found');
    }

    updated.role = role;
    return Project.toApi(updated);
}

/** Routes of `/api/projects/projects/`. */
export const projectRoutes: ServerRoute[] = [
    {
        method: 'POST',
        path: '/api/projects/projects',
        options: {
            tags,
            description: 'Create a project; the caller becomes its owner',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 429) } },
            validate: { payload: createProject },
            response: { status: { 201: project } },
            handler: async (request, h) => {
                const user = caller(request);
                const { name, description = '' } = request.payload as ProjectFields & { name: string };
                const created = await Project.createOwned(request.server.app.db, { name, description }, user.id);
                return h.response(Project.toApi(created)).code(201);
            }
        }
    },
    {
        method: 'GET',
        path: '/api/projects/projects',
        options: {
            tags,
            description: 'Projects the caller is a member of, by id; paginated (limit, cursor, Link rel="next")',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 429) } },
            validate: { query: Joi.object(pageQuery) },
            response: { status: { 200: projectList } },
            handler: (request, h) => paginate(request, h, Project.query(request.server.app.db).modify('withRoleOf', caller(request).id), {
                column: 'projects.id',
                kind: 'id',
                key: (row) => row.id,
                show: Project.toApi
            })
        }
    },
    {
        method: 'GET',
        path: '/api/projects/projects/{id}',
        options: {
            tags,
            description: 'A project the caller is a member of',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 404, 429) } },
            validate: { params: projectParams },
            response: { status: { 200: project } },
            handler: async (request) => {
                const { id } = request.params as { id: number };
                const found = await Project.query(request.server.app.db).modify('withRoleOf', caller(request).id).where('projects.id', id).first();
                if (!found) {
                    throw Boom.notFound('Project not found');
                }

                return Project.toApi(found);
            }
        }
    },
    {
        method: 'PUT',
        path: '/api/projects/projects/{id}',
        options: {
            tags,
            description: 'Update a project (owner, collaborator): name required; an omitted description is kept',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 429) } },
            validate: { params: projectParams, payload: replaceProject },
            response: { status: { 200: project } },
            handler: update
        }
    },
    {
        method: 'PATCH',
        path: '/api/projects/projects/{id}',
        options: {
            tags,
            description: 'Update some fields of a project (owner, collaborator)',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 429) } },
            validate: { params: projectParams, payload: updateProject },
            response: { status: { 200: project } },
            handler: update
        }
    },
    {
        method: 'DELETE',
        path: '/api/projects/projects/{id}',
        options: {
            tags,
            description: 'Delete a project with its members, workspaces and files (owner)',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 429) } },
            validate: { params: projectParams },
            response: { status: { 204: Joi.any().empty() } },
            handler: async (request, h) => {
                const { id } = request.params as { id: number };
                await request.server.app.db.transaction(async (trx) => {
                    requireRole(await projectAccess(trx, id, caller(request).id), ['owner'], 'deleting this project');
                    await Project.query(trx).deleteById(id);
                });
                await request.server.plugins['collab-realtime'].control.announceMembershipChange(id).catch(() => undefined);   // live sockets lose the project
                return h.response().code(204);
            }
        }
    }
];
