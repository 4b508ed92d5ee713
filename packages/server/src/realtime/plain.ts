import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, MAX_FRAME_BYTES } from '@collab/protocol';
import type { RealtimeSettings } from '@collab/core';

import { verifyToken, type AccessClaims } from '../auth/tokens.js';
import type { AuthUser } from '../context.js';
import { activeUser, authorizeSocket } from './access.js';
import type { AccessCache } from './access-cache.js';
import { refuseUpgrade, type Admission } from './admission.js';
import type { Subscription } from './connection.js';
import type { Hub } from './hub.js';
import { PlainConnection, type PlainHandlers } from './plain-connection.js';
import { sendEvent } from '../events/send.js';

const PATH = /^\/ws\/workspaces\/([^/?#]*)\/?$/;

/** What the URL of a plain socket asks for. */
export interface PlainTarget {
    workspaceId: number;
    token: string | null;
    /** Resume after this seq (`?since=`), with the epoch it belongs to (`?epoch=`). */
    since?: number;
    epoch?: string;
}

/** The target of an upgrade to `/ws/workspaces/{id}/?token=…`, or null for any other path. */
export function plainTarget(url: string | undefined): PlainTarget | null {
    let parsed: URL;
    try {
        parsed = new URL(url ?? '/', 'http://localhost');
    }
    catch {
        return null;
    }

    const match = PATH.exec(parsed.pathname);
    if (!match) {
        return null;
    }

    const id = /^\d{1,10}$/.test(match[1]!) ? Number(match[1]) : 0;
    const since = parsed.searchParams.get('since');
    return {
        workspaceId: id,
        token: parsed.searchParams.get('token'),
        since: since !== null && /^\d{1,15}$/.test(since) ? Number(since) : undefined,
        epoch: parsed.searchParams.get('epoch') ?? undefined
    };
}

/** Hooks of the plain endpoint. */
export interface PlainHooks {
    onSlow: () => void;
    onError: (err: Error) => void;
}

/**
 * The plain WebSocket endpoint: its own `ws` server without a listener
 * (upgrades are handed over by the dispatcher). Token, account and
 * membership are checked before the upgrade completes, so the socket
 * handles frames from its first one; refusals still complete the upgrade,
 * then close with 4401/4403/4429/1013 so browsers see the code (a refused
 * socket is unauthenticated: it needs a place in the unauthenticated pool,
 * else the upgrade is refused with HTTP 429/503 instead).
 */
export class PlainEndpoint {
    readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
    private readonly handlers: PlainHandlers;

    constructor(
        private readonly server: Server,
        private readonly hub: Hub,
        private readonly settings: RealtimeSettings,
        private readonly admission: Admission,
        readonly access: AccessCache,
        private readonly hooks: PlainHooks
    ) {
        this.handlers = {
            send: (connection, sub, event, payload) => sendEvent(server, { workspaceId: sub.workspaceId, user: connection.user, event, payload, role: sub.role, source: 'ws' }),
            reauth: async (connection, token) => {
                const claims = typeof token === 'string' ? verifyToken<AccessClaims>(server, token, 'access') : null;
                if (!claims) {
                    throw Boom.unauthorized('Invalid or expired token');
                }

                if (Number(claims.sub) !== connection.user.id) {
                    throw Boom.forbidden('The token belongs to another user');
                }

                if (!await activeUser(server.app.db, connection.user.id)) {
                    throw Boom.unauthorized('Account deactivated');
                }

                return claims.exp;
            }
        };
        this.wss.on('error', () => undefined);
    }

    /** Completes (or refuses) an upgrade the dispatcher matched with {@link plainTarget}. */
    async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: PlainTarget): Promise<void> {
        const grant = await authorizeSocket(this.server, target.token, target.workspaceId, { access: this.access, admission: this.admission, hub: this.hub, maxPerUser: this.settings.maxPerUser });
        if ('code' in grant) {
            return this.refuse(req, socket, head, grant.code, grant.reason);
        }

        if (socket.destroyed) {
            return;
        }

        const { user, exp, workspace, role } = grant;
        this.wss.handleUpgrade(req, socket, head, (ws) => {
            const sub = this.open(ws, user, exp, workspace.project_id, role, target.workspaceId);
            if (target.since !== undefined) {
                this.hub.resume(sub, { after: target.since, epoch: target.epoch }).catch(() => {
                    sub.connection.close(CloseCode.tryAgain, 'event history unavailable: reconnect later');
                });
            }
            else {
                this.hub.add(sub);
            }
        });
    }

    /**
     * Accepts the upgrade only to close it with a code a browser can read,
     * if the unauthenticated pool has room; else refuses it with HTTP 429/503.
     */
    refuse(req: IncomingMessage, socket: Duplex, head: Buffer, code: number, reason: string): void {
        if (socket.destroyed) {
            return;
        }

        const ip = this.server.app.clientAddresses.of(req);
        const refusal = this.admission.refusal(ip);
        if (refusal) {
            refuseUpgrade(socket, refusal.status, refusal.reason);
            return;
        }

        this.wss.handleUpgrade(req, socket, head, (ws) => this.admission.refuse(ws, ip, code, reason));
    }

    /** Closes every plain socket with a reconnect hint and stops accepting. */
    close(code: number, reason: string): void {
        for (const ws of this.wss.clients) {
            ws.close(code, reason);
        }

        this.wss.close();
    }

    private open(ws: WebSocket, user: AuthUser, exp: number, projectId: number, role: Subscription['role'], workspaceId: number): Subscription {
        const { messageRate: rate, messageBurst: burst, maxBufferedBytes } = this.settings;
        const connection = new PlainConnection(ws, { transport: 'ws', user, rate, burst, maxBufferedBytes, exp, onSlow: this.hooks.onSlow }, this.handlers);
        ws.on('error', () => undefined);
        ws.once('close', () => {
            try {
                this.hub.unregister(connection);
            }
            catch (err) {
                this.hooks.onError(err as Error);
            }
        });
        this.hub.register(connection);
        const sub: Subscription = { connection, workspaceId, projectId, role, path: '' };
        connection.sub = sub;
        connection.watchExpiry();
        return sub;
    }
}
