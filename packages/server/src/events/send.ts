import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import { EVENT_NAME_PATTERN, type EventEnvelope, exceedsJsonDepth, isReservedEvent, MAX_JSON_DEPTH, MAX_PAYLOAD_BYTES, type Role, WRITER_ROLES } from '@collab/protocol';

import { requireRole, workspaceAccess } from '../access.js';
import type { AuthUser } from '../context.js';
import { writeFile } from '../files/write.js';
import { busError, viaBus } from './bus-errors.js';

/** Where an event was sent from. */
export type EventSource = 'http' | 'nes' | 'ws';

/** An event a client sends, through any transport. */
export interface SendEventInput {
    workspaceId: number;
    user: AuthUser;
    event: string;
    payload: unknown;
    /** The sender's role when the transport already knows it (plain sockets keep it current); looked up otherwise. */
    role?: Role;
    /** Where the event came from, for metrics. */
    source?: EventSource;
}

function badRequest(field: string, message: string): Boom.Boom {
    const error = Boom.badRequest(message);
    (error.output.payload as unknown as Record<string, unknown>).field = field;
    return error;
}

/** Throws 400 naming `event` unless the name matches the pattern and is not reserved. */
export function checkEventName(event: unknown): asserts event is string {
    if (typeof event !== 'string' || !EVENT_NAME_PATTERN.test(event)) {
        throw badRequest('event', `event must match ${EVENT_NAME_PATTERN}`);
    }

    if (isReservedEvent(event)) {
        throw badRequest('event', `event ${event} is reserved for the server`);
    }
}

/** True for a `file_change` whose payload is `{file, content}`: sending it writes the file first. */
export function isFileWrite(event: unknown, payload: unknown): boolean {
    return typeof event === 'string' && fileWrite(event, payload) !== null;
}

function fileWrite(event: string, payload: unknown): { file: string; content: string } | null {
    if (event !== 'file_change' || typeof payload !== 'object' || payload === null) {
        return null;
    }

    const { file, content } = payload as Record<string, unknown>;
    return typeof file === 'string' && typeof content === 'string' ? { file, content } : null;
}

/**
 * The one code path of a client event, for the HTTP route, nes requests and
 * plain WebSocket frames: checks the name, the payload's depth (400 past
 * `MAX_JSON_DEPTH`: it could not be serialized) and the sender's role (404
 * for a non-member, 403 for a viewer), writes the file of a `file_change`
 * whose payload is `{file, content}` (broadcast as `{file, content,
 * revision}`), then publishes. Throws Boom errors: 400, 403, 404, 409, 413, 503.
 *
 * With `role` given and no file to write, the publish is issued before the
 * first await, so events sent in order by one caller get `seq`s in that order.
 */
export async function sendEvent(server: Server, input: SendEventInput): Promise<EventEnvelope> {
    const { workspaceId, user, event } = input;
    checkEventName(event);
    if (exceedsJsonDepth(input.payload)) {
        throw badRequest('payload', `payload nests deeper than ${MAX_JSON_DEPTH} levels`);
    }

    const role = input.role ?? (await workspaceAccess(server.app.db, workspaceId, user.id)).role;
    requireRole(role, WRITER_ROLES, 'sending events');
    if (server.app.bus.redis.status !== 'ready') {
        throw busError(new Error('Redis is not connected'));
    }

    let payload = input.payload;
    const write = fileWrite(event, payload);
    if (write) {
        // Checked before writing: a file must not change for an event that is then refused.
        if (Buffer.byteLength(JSON.stringify(payload)) > MAX_PAYLOAD_BYTES) {
            throw Boom.entityTooLarge(`payload exceeds ${MAX_PAYLOAD_BYTES} bytes`);
        }

        const written = await writeFile(server.app.db, { workspaceId, path: write.file, content: write.content, userId: user.id });
        await server.plugins['collab-docs'].fileWritten(workspaceId, written.path, write.content, user);
        payload = { file: written.path, content: write.content, revision: written.revision };
    }

    const envelope = await viaBus(() => server.app.bus.publish(workspaceId, { event, payload, user: user.email, user_id: user.id }));
    server.plugins['collab-realtime']?.metrics.published(input.source ?? 'http');
    return envelope;
}
