import type { ServerRoute } from '@hapi/hapi';
import type { EventEnvelope } from '@collab/protocol';

import { workspaceAccess } from '../access.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { caller } from '../plugins/auth.js';
import { viaBus } from '../events/bus-errors.js';
import { sendEvent } from '../events/send.js';
import { errors } from '../schemas/common.js';
import { epochConflict, history, historyQuery, presenceList, sendBody, sendResult } from '../schemas/events.js';
import { workspaceParams } from '../schemas/workspaces.js';

const tags = ['api', 'events'];

interface HistoryQuery {
    after: number;
    epoch?: string;
    limit: number;
    cursor?: string;
}

/** Routes of `/api/projects/workspaces/{id}/events/` and `/presence/`; the POST also serves nes requests. */
export const eventRoutes: ServerRoute[] = [
    {
        method: 'POST',
        path: '/api/projects/workspaces/{id}/events',
        options: {
            tags,
            description: 'Broadcast an event to every subscriber of the workspace (owner, collaborator); also a nes request on the socket',
            // The payload goes to Redis, which stores NUL; a file_change's content is checked where the file is written.
            plugins: { 'collab-input': { nulAllowed: ['payload'] }, 'hapi-swagger': { responses: errors(400, 401, 403, 404, 409, 413, 429, 503) } },
            validate: { params: workspaceParams, payload: sendBody },
            response: { status: { 202: sendResult } },
            handler: async (request, h) => {
                const { id } = request.params as { id: number };
                const { event, payload } = request.payload as { event: string; payload: unknown };
                request.server.plugins['collab-realtime'].limitRequest(request);
                const sent = await sendEvent(request.server, { workspaceId: id, user: caller(request), event, payload, source: request.socket ? 'nes' : 'http' });
                return h.response({ seq: sent.seq }).code(202);
            }
        }
    },
    {
        method: 'GET',
        path: '/api/projects/workspaces/{id}/events',
        options: {
            tags,
            description: 'Retained events after `after`, oldest first (at least the last 1,000 or 24 h); paginated (limit, cursor, Link rel="next"). X-Collab-Epoch and X-Collab-Seq give the current epoch and last seq; a stale epoch is 409 {epoch}',
            plugins: { 'hapi-swagger': { responses: { ...errors(400, 401, 404, 429, 503), 409: { description: 'The epoch is stale: reload state over REST', schema: epochConflict } } } },
            validate: { params: workspaceParams, query: historyQuery },
            response: { status: { 200: history } },
            handler: async (request, h) => {
                const { id } = request.params as { id: number };
                const { after, epoch, limit, cursor } = request.query as unknown as HistoryQuery;
                await workspaceAccess(request.server.app.db, id, caller(request).id);
                const from = Math.max(after, decodeCursor(cursor, 'id') ?? 0);
                const found = await viaBus(() => request.server.app.bus.history(id, { after: from, epoch, limit: limit + 1 }));
                const page: EventEnvelope[] = found.events.slice(0, limit);
                const response = h.response(page).header('X-Collab-Epoch', found.epoch).header('X-Collab-Seq', String(found.seq));
                if (found.events.length > limit) {
                    const next = new URL(request.url.href);
                    next.searchParams.set('cursor', encodeCursor(page[page.length - 1]!.seq!));
                    next.searchParams.set('epoch', found.epoch);
                    response.header('link', `<${next.href}>; rel="next"`);
                }

                return response;
            }
        }
    },
    {
        method: 'GET',
        path: '/api/projects/workspaces/{id}/presence',
        options: {
            tags,
            description: 'Users connected to the workspace now, over either transport, across every server instance',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 404, 429, 503) } },
            validate: { params: workspaceParams },
            response: { status: { 200: presenceList } },
            handler: async (request) => {
                const { id } = request.params as { id: number };
                await workspaceAccess(request.server.app.db, id, caller(request).id);
                return viaBus(() => request.server.app.presence.list(id));
            }
        }
    }
];
