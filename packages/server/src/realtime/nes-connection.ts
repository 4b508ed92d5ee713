import Boom from '@hapi/boom';
import type { Nes } from '@hapi/nes';
import type { WebSocket } from 'ws';

import type { AuthUser } from '../context.js';
import { Connection, type ConnectionOptions, type Subscription } from './connection.js';
import { pubPrefix, serverMessage } from './frames.js';

/**
 * The parts of a nes 14 socket used beyond its public API: `_ws`, its `ws`
 * socket, to write pre-serialized `pub` frames directly (nes's
 * `server.publish` walks every subscriber of the route and stringifies per
 * socket, `socket.publish` stringifies per socket and queues without bound),
 * and `_setCredentials`, the one place both `hello` and `reauth` set
 * credentials, to refuse a re-authentication as another user (nes swaps
 * credentials without re-checking subscriptions). Checked at start-up by
 * {@link nesInternals}; tests cover both.
 */
interface NesSocketInternals {
    _ws: WebSocket;
    _setCredentials(auth: { credentials?: { user?: AuthUser } | null }): void;
}

/** The internals of a nes socket; throws at once if a nes upgrade changed them. */
export function nesInternals(socket: Nes.Socket): NesSocketInternals {
    const internals = socket as unknown as NesSocketInternals;
    if (!internals._ws || typeof internals._setCredentials !== 'function') {
        throw new Error('@hapi/nes internals changed: socket._ws or socket._setCredentials is missing');
    }

    return internals;
}

/** A nes socket: any number of workspace subscriptions, re-authentication through nes `reauth`. */
export class NesConnection extends Connection {
    constructor(readonly socket: Nes.Socket, options: ConnectionOptions) {
        const internals = nesInternals(socket);
        super(internals._ws, options);
        const setCredentials = internals._setCredentials;
        internals._setCredentials = (auth) => {
            if (auth.credentials?.user?.id !== this.user.id) {
                throw Boom.forbidden('Re-authentication must be for the same user');
            }

            setCredentials.call(socket, auth);
            this.watchExpiry();
        };
    }

    /** A server message: a `pub` on the subscription's path, or a nes `update` (`client.onUpdate`) without one. */
    notify(message: object, sub?: Subscription): void {
        if (!this.open) {
            return;
        }

        if (sub) {
            this.write(Buffer.from(`${pubPrefix(sub.path)}${JSON.stringify(message)}}`));
        }
        else {
            this.socket.send(message).catch(() => undefined);
        }
    }

    revoke(sub: Subscription, reason: string): void {
        const message = serverMessage('revoked', { code: 403, message: reason }, sub.workspaceId);
        this.socket.revoke(sub.path, message, { ignoreClose: true }).catch(() => undefined);
    }

    protected currentExpiry(): number | undefined {
        const artifacts = this.socket.auth.artifacts as { decoded?: { payload?: { exp?: unknown } } } | null;
        const exp = artifacts?.decoded?.payload?.exp;
        return typeof exp === 'number' ? exp : undefined;
    }
}
