import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import type { Server } from '@hapi/hapi';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, DOC_PATH_PREFIX, MAX_FRAME_BYTES, pathProblem, type Role } from '@collab/protocol';
import type { RealtimeSettings } from '@collab/core';

import type { AuthUser } from '../context.js';
import type { DocRegistry } from '../docs/registry.js';
import { DocSession } from '../docs/session.js';
import type { SharedDoc } from '../docs/shared-doc.js';
import type { DocKey } from '../docs/store.js';
import { authorizeSocket } from './access.js';
import type { Admission } from './admission.js';
import { DocConnection } from './doc-connection.js';
import type { Subscription } from './connection.js';
import type { Hub } from './hub.js';
import type { PlainEndpoint } from './plain.js';

/** What the URL of a document socket asks for. */
export interface DocTarget {
    workspaceId: number;
    /** The file path, decoded; null when it is not a valid path. */
    path: string | null;
    token: string | null;
}

/** The target of an upgrade to `/yjs/{workspace_id}/{path}?token=…`, or null for any other URL. */
export function docTarget(url: string | undefined): DocTarget | null {
    if (!url?.startsWith(DOC_PATH_PREFIX)) {
        return null;
    }

    // Read raw, not through URL(): it would resolve `..` and `\\` before the path is checked.
    const mark = url.indexOf('?');
    const raw = mark === -1 ? url : url.slice(0, mark);
    const query = new URLSearchParams(mark === -1 ? '' : url.slice(mark + 1));
    const [id = '', ...segments] = raw.slice(DOC_PATH_PREFIX.length).split('/');
    let path: string | null;
    try {
        path = segments.map((segment) => decodeURIComponent(segment)).join('/');
    }
    catch {
        path = null;
    }

    return {
        workspaceId: /^\d{1,10}$/.test(id) ? Number(id) : 0,
        path: path !== null && pathProblem(path) === null ? path : null,
        token: query.get('token')
    };
}

/**
 * The collaborative document endpoint (DESIGN §7): a `ws` server without a
 * listener, like the plain endpoint, whose refusals it shares (a refused
 * socket still completes the upgrade so browsers read 4401/4403/4400/1013).
 * Token, account, membership and path are checked, and the document
 * loaded, before the handshake completes.
 */
export class DocEndpoint {
    readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });

    constructor(
        private readonly server: Server,
        private readonly hub: Hub,
        private readonly registry: DocRegistry,
        private readonly settings: RealtimeSettings,
        private readonly admission: Admission,
        private readonly plain: PlainEndpoint,
        private readonly hooks: { onSlow: () => void; onError: (err: Error) => void }
    ) {
        this.wss.on('error', () => undefined);
    }

    /** Completes (or refuses) an upgrade the dispatcher matched with {@link docTarget}. */
    async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: DocTarget): Promise<void> {
        const refuse = (code: number, reason: string) => this.plain.refuse(req, socket, head, code, reason);
        const grant = await authorizeSocket(this.server, target.token, target.workspaceId, { access: this.plain.access, admission: this.admission, hub: this.hub, maxPerUser: this.settings.maxPerUser });
        if ('code' in grant) {
            return refuse(grant.code, grant.reason);
        }

        if (target.path === null) {
            return refuse(CloseCode.badRequest, 'invalid file path');
        }

        const { user, exp, workspace, role } = grant;
        const key: DocKey = { workspaceId: target.workspaceId, path: target.path };
        let doc;
        try {
            doc = await this.registry.acquire(key);
        }
        catch (err) {
            this.hooks.onError(err as Error);
            return refuse(CloseCode.tryAgain, 'document unavailable: reconnect later');
        }

        // ws answers a bad handshake itself without calling back: the document is then let go when the socket closes.
        let attached = false;
        const letGo = () => {
            if (!attached) {
                attached = true;
                this.registry.release(doc);
            }
        };
        socket.once('close', letGo);
        if (socket.destroyed) {
            letGo();
            return;
        }

        this.wss.handleUpgrade(req, socket, head, (ws) => {
            if (attached) {
                ws.terminate();
                return;
            }

            attached = true;
            socket.off('close', letGo);
            const connection = this.open(ws, user, exp, workspace.project_id, role, doc);
            try {
                connection.attach(new DocSession(doc, connection, { editor: user, canWrite: () => connection.canWrite() }));
            }
            catch (err) {
                this.hooks.onError(err as Error);
                connection.close(CloseCode.internal, 'internal error');
            }
        });
    }

    /** Closes every document socket with a reconnect hint and stops accepting. */
    close(code: number, reason: string): void {
        for (const ws of this.wss.clients) {
            ws.close(code, reason);
        }

        this.wss.close();
    }

    private open(ws: WebSocket, user: AuthUser, exp: number, projectId: number, role: Role, doc: SharedDoc): DocConnection {
        const { key } = doc;
        const { messageRate: rate, messageBurst: burst, maxBufferedBytes } = this.settings;
        const connection = new DocConnection(ws, { transport: 'ws', user, rate, burst, maxBufferedBytes, onSlow: this.hooks.onSlow }, exp, this.hooks.onError);
        ws.on('error', () => undefined);
        ws.once('close', () => {
            try {
                connection.session?.end();
                this.hub.unregister(connection);
            }
            catch (err) {
                this.hooks.onError(err as Error);
            }
            finally {
                this.registry.release(doc);
            }
        });
        this.hub.register(connection);
        const sub: Subscription = { connection, workspaceId: key.workspaceId, projectId, role, path: `${DOC_PATH_PREFIX}${key.workspaceId}/${key.path}` };
        connection.sub = sub;
        this.hub.track(sub);
        connection.watchExpiry();
        return connection;
    }
}
