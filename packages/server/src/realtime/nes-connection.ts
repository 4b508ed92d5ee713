import Boom from '@hapi/boom';
import type { Nes } from '@hapi/nes';

import { Connection, type ConnectionOptions, type Subscription } from './connection.js';
import { pubPrefix, serverMessage } from './frames.js';
import { interceptCredentials, nesSocketWs } from './nes-internals.js';

/**
 * A nes socket: any number of workspace subscriptions, re-authentication
 * through nes `reauth`. Frames are written to its `ws` socket directly
 * (nes's `server.publish` walks every subscriber of the route and
 * stringifies per socket; `socket.publish` stringifies per socket and
 * queues without bound).
 */
export class NesConnection extends Connection {
    constructor(readonly socket: Nes.Socket, options: ConnectionOptions) {
        super(nesSocketWs(socket), options);
        // nes swaps credentials on `reauth` without re-checking subscriptions: only the same user may.
        interceptCredentials(socket, (auth) => {
            if (auth.credentials?.user?.id !== this.user.id) {
                throw Boom.forbidden('Re-authentication must be for the same user');
            }
        }, () => this.watchExpiry());
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
