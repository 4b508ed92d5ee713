import Boom from '@hapi/boom';
import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { WRITER_ROLES } from '@collab/protocol';
import { WorkspaceFile } from '@collab/core';

import { requireRole, workspaceAccess } from '../access.js';
import { writeFile } from '../files/write.js';
import { paginate } from '../pagination.js';
import { caller } from '../plugins/auth.js';
import { broadcastFileChange, broadcastFileDelete } from '../events/broadcast.js';
import { errors } from '../schemas/common.js';
import { file, fileList, fileListQuery, fileParams, writeBody, written } from '../schemas/files.js';
import { workspaceParams } from '../schemas/workspaces.js';

const tags = ['api', 'files'];

/** Enough for 1 MiB of content however it is escaped in JSON; `writeFile` answers 413 above 1 MiB itself. */
const PUT_MAX_BYTES = 8 * 1024 * 1024;

type FileParams = { id: number; path: string };

/** Routes of `/api/projects/workspaces/{id}/files/`. */
export const fileRoutes: ServerRoute[] = [
    {
        method: 'GET',
        path: '/api/projects/workspaces/{id}/files',
        options: {
            tags,
            description: 'Files of a workspace without their content, by path; paginated (limit, cursor, Link rel="next")',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 404, 429) } },
            validate: { params: workspaceParams, query: fileListQuery },
            response: { status: { 200: fileList } },
            handler: async (request, h) => {
                const db = request.server.app.db;
                const { id } = request.params as { id: number };
                await workspaceAccess(db, id, caller(request).id);
                const query = WorkspaceFile.query(db).select('path', 'revision', 'size', 'updated_at', 'updated_by').where('workspace_id', id);
                return paginate(request, h, query, {
                    column: 'files.path',
                    kind: 'text',
                    key: (row) => row.path,
                    show: ({ path, revision, size, updated_at, updated_by }) => ({ path, revision, size, updated_at, updated_by })
                });
            }
        }
    },
    {
        method: 'GET',
        path: '/api/projects/workspaces/{id}/files/{path*}',
        options: {
            tags,
            description: 'A file with its content',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 404, 429) } },
            validate: { params: fileParams },
            response: { status: { 200: file } },
            handler: async (request) => {
                const db = request.server.app.db;
                const { id, path } = request.params as FileParams;
                await workspaceAccess(db, id, caller(request).id);
                const found = await WorkspaceFile.query(db).findOne({ workspace_id: id, path });
                if (!found) {
                    throw Boom.notFound('File not found');
                }

                const { content, revision, updated_at, updated_by } = found;
                return { path, content, revision, updated_at, updated_by };
            }
        }
    },
    {
        method: 'PUT',
        path: '/api/projects/workspaces/{id}/files/{path*}',
        options: {
            tags,
            description: 'Create (revision 1) or update (revision + 1) a file (owner, collaborator); with base_revision, 409 unless it is current',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 409, 413, 429) } },
            payload: { maxBytes: PUT_MAX_BYTES },
            validate: { params: fileParams, payload: writeBody },
            response: { status: { 200: written } },
            handler: async (request) => {
                const db = request.server.app.db;
                const user = caller(request);
                const { id, path } = request.params as FileParams;
                const { content, base_revision: baseRevision } = request.payload as { content: string; base_revision?: number };
                const { role } = await workspaceAccess(db, id, user.id);
                requireRole(role, WRITER_ROLES, 'writing files');
                const result = await writeFile(db, { workspaceId: id, path, content, baseRevision, userId: user.id });
                await request.server.plugins['collab-docs'].fileWritten(id, result.path, content, user);
                await broadcastFileChange(request.server, { workspaceId: id, user, file: result.path, content, revision: result.revision });
                return { path: result.path, revision: result.revision };
            }
        }
    },
    {
        method: 'DELETE',
        path: '/api/projects/workspaces/{id}/files/{path*}',
        options: {
            tags,
            description: 'Delete a file (owner, collaborator)',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 403, 404, 429) } },
            validate: { params: fileParams },
            response: { status: { 204: Joi.any().empty() } },
            handler: async (request, h) => {
                const db = request.server.app.db;
                const { id, path } = request.params as FileParams;
                const user = caller(request);
                const { role } = await workspaceAccess(db, id, user.id);
                requireRole(role, WRITER_ROLES, 'deleting files');
                if (!await request.server.plugins['collab-docs'].deleteFile(id, path)) {
                    throw Boom.notFound('File not found');
                }

                await broadcastFileDelete(request.server, { workspaceId: id, user, file: path });

                return h.response().code(204);
            }
        }
    }
];
