import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import NesModule, { type Nes } from '@hapi/nes';
import { MAX_FRAME_BYTES } from '@collab/protocol';
import type { RealtimeSettings } from '@collab/core';

import type { AuthUser } from '../context.js';
import type { AccessCache } from './access-cache.js';
import type { Admission } from './admission.js';
import { workspaceSlot, type Subscription } from './connection.js';
import type { Hub } from './hub.js';
import { NesConnection } from './nes-connection.js';
import { nesSocketWs, takeNes, type NesServerInternals } from './nes-internals.js';

/** The nes subscription paths of a workspace's events (PROTOCOL.md). */
export const WORKSPACE_PATHS = ['/workspaces/{id}', '/workspaces/{id}/since/{seq}', '/workspaces/{id}/since/{seq}/{epoch}'];

/** What the nes side needs from the realtime plugin. */
export interface NesOptions {
    hub: Hub;
    access: AccessCache;
    settings: RealtimeSettings;
    admission: Admission;
    onSlow: () => void;
    onError: (err: Error) => void;
}

interface WorkspaceParams {
    id?: string;
    seq?: string;
    epoch?: string;
}

/** What collab keeps in a nes socket's `app` state. */
interface SocketApp {
    collab?: NesConnection;
}

/** The connection of an authenticated nes socket (e.g. `request.socket` of a nes request), if any. */
export function nesConnection(socket: Nes.Socket | null | undefined): NesConnection | undefined {
    return (socket?.app as SocketApp | undefined)?.collab;
}

/**
 * Registers `@hapi/nes` (authenticated with the `jwt` strategy, heartbeat
 * 15 s) and the workspace subscriptions. Once it ran, `server.subscription()`
 * is available to other plugins (e.g. `/jobs/{job_id}`). A socket leaves the
 * unauthenticated pool when its `hello` succeeds (the admission's timer
 * replaces nes's, which a failed `hello` cleared); a failed `hello` (401,
 * 429 for too many sockets of the user, 503 with no authenticated place
 * left) is answered and the socket closed. Returns nes's `ws` server and
 * the upgrade listeners the dispatcher hands nes's upgrades to.
 */
export async function registerNes(server: Server, options: NesOptions): Promise<NesServerInternals> {
    const { hub, settings, admission } = options;
    await server.register({
        plugin: NesModule.plugin,
        options: {
            auth: { type: 'direct', timeout: false },
            heartbeat: { interval: 15_000, timeout: 5_000 },
            headers: null,
            onConnection: (socket) => {
                const user = socket.auth.credentials?.user as AuthUser | undefined;
                if (!user) {
                    return;
                }

                if (!socket.isOpen()) {
                    throw Boom.badRequest('Socket closed');
                }

                if (admission.full()) {
                    throw Boom.serverUnavailable('Server at capacity: reconnect later');
                }

                if (hub.connectionsOf(user.id).length >= settings.maxPerUser) {
                    throw Boom.tooManyRequests('Too many connections for this user');
                }

                const { messageRate: rate, messageBurst: burst, maxBufferedBytes } = settings;
                const connection = new NesConnection(socket, { transport: 'nes', user, rate, burst, maxBufferedBytes, onSlow: options.onSlow });
                admission.authenticated(nesSocketWs(socket));
                (socket.app as SocketApp).collab = connection;
                hub.register(connection);
                connection.watchExpiry();
            },
            onDisconnection: (socket) => {
                const connection = nesConnection(socket);
                try {
                    if (connection) {
                        hub.unregister(connection);
                    }
                }
                catch (err) {
                    options.onError(err as Error);
                }
            }
        }
    });

    const nes = takeNes(server, options.onError);
    // nes leaves ws's 100 MiB default: the same 1 MiB cap as plain sockets (1009 above it).
    (nes.wss.options as { maxPayload: number }).maxPayload = MAX_FRAME_BYTES;

    for (const path of WORKSPACE_PATHS) {
        server.subscription(path, {
            // nes awaits onSubscribe: a rejection is the subscribe's error reply.
            // eslint-disable-next-line @typescript-eslint/no-misused-promises
            onSubscribe: (socket, subscribed, params) => subscribe(options.access, hub, settings, socket, subscribed, params as WorkspaceParams),
            onUnsubscribe: (socket, subscribed) => {
                const connection = nesConnection(socket);
                const sub = connection && find(connection.subscriptions, subscribed);
                if (sub) {
                    hub.remove(sub);
                }
            }
        });
    }

    return nes;
}

function find(subs: Set<Subscription>, path: string): Subscription | undefined {
    for (const sub of subs) {
        if (sub.path === path) {
            return sub;
        }
    }

    return undefined;
}

/**
 * A workspace subscription: one per workspace on a socket (a later one, by
 * any of the paths, takes the place of the earlier, whose nes path is
 * dropped), at most `maxSubscriptions` in all (429 beyond, the socket stays
 * open). A socket that closes or subscribes again meanwhile makes it end
 * without leaving anything behind.
 */
async function subscribe(access: AccessCache, hub: Hub, settings: RealtimeSettings, socket: Nes.Socket, path: string, params: WorkspaceParams): Promise<void> {
    const connection = nesConnection(socket);
    if (!connection) {
        throw Boom.unauthorized('Connection requires authentication');
    }

    connection.countMessage();

    const id = /^\d{1,10}$/.test(params.id ?? '') ? Number(params.id) : 0;
    const since = params.seq === undefined ? undefined : /^\d{1,15}$/.test(params.seq) ? Number(params.seq) : NaN;
    if (Number.isNaN(since)) {
        throw Boom.badRequest('seq must be a non-negative integer');
    }

    const claim = connection.claim(workspaceSlot(id), settings.maxSubscriptions);
    if (!claim) {
        throw Boom.tooManyRequests(`Too many subscriptions on this socket (at most ${settings.maxSubscriptions})`);
    }

    try {
        const { workspace, role } = await access.get(id, connection.user.id);
        if (!connection.holds(claim)) {
            throw connection.open ? Boom.conflict('Replaced by a later subscription to this workspace') : Boom.notFound('Socket closed');
        }

        const sub: Subscription = { connection, workspaceId: id, projectId: workspace.project_id, role, path };
        const replaced = since === undefined
            ? hub.add(sub)
            : (await hub.resume(sub, { after: since, epoch: params.epoch }, () => connection.holds(claim))).replaced;
        if (replaced && replaced.path !== path) {
            socket.revoke(replaced.path, null, { ignoreClose: true }).catch(() => undefined);
        }
    }
    finally {
        connection.settle(claim);
    }
}
