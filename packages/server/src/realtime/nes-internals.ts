import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';

import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import type { Nes } from '@hapi/nes';
import type { WebSocket, WebSocketServer } from 'ws';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '@collab/protocol';

/**
 * Every part of @hapi/nes collab reaches past its public API, in one place.
 * The version is pinned in package.json and checked here; everything else
 * is checked when the plugin registers, so a nes upgrade that changes one of
 * them stops the server at start-up instead of failing on a live socket.
 *
 * - `Socket.prototype._onMessage`: the per-message handler, whose promise
 *   nes drops. It rejects when a reply is queued for a socket that closed
 *   meanwhile (e.g. three unparsable frames and a close): wrapped so that
 *   any rejection disconnects the socket instead of ending the process.
 * - `Socket.prototype._lifecycle`: wrapped to answer a message nested
 *   deeper than `MAX_JSON_DEPTH` with a 400 error reply (nes would pass it
 *   on, e.g. to `server.inject`, whose serializer overflows the stack).
 * - `Socket.prototype._processHello`: wrapped to close a socket whose
 *   `hello` failed once its error reply is written (nes keeps it open).
 * - `socket._ws`: the `ws` socket, written to directly by the hub.
 * - `socket._setCredentials`: where both `hello` and `reauth` set
 *   credentials, intercepted per socket to refuse a `reauth` as another user.
 * - `server.plugins.nes._listener._wss`: nes's `ws` server, and the
 *   `'upgrade'` listener it adds to the HTTP listener (taken over by the
 *   upgrade dispatcher).
 */
export const NES_VERSION = '14.0.1';

/** A listener of the HTTP server's `upgrade` event. */
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What a nes server exposes to collab. */
export interface NesServerInternals {
    /** nes's `ws` server (every nes socket, authenticated or not). */
    wss: WebSocketServer;
    /** The `upgrade` listeners nes's `ws` server added, removed from the HTTP listener: call them to hand an upgrade to nes. */
    upgrades: UpgradeListener[];
}

/** Credentials as nes sets them on `hello` and `reauth`. */
export interface NesAuth {
    credentials?: { user?: { id?: number } } | null;
}

interface SocketInternals {
    _ws: WebSocket;
    _setCredentials(auth: NesAuth): void;
}

interface SocketPrototype {
    _onMessage(this: Nes.Socket, message: unknown): Promise<void>;
    _lifecycle(this: Nes.Socket, request: unknown): Promise<unknown>;
    _processHello(this: Nes.Socket, request: unknown): Promise<unknown>;
    _setCredentials(this: Nes.Socket, auth: NesAuth): void;
    disconnect(this: Nes.Socket): unknown;
    isOpen(this: Nes.Socket): boolean;
    [GUARDED]?: true;
}

const GUARDED = Symbol.for('collab.nes.guarded');
const failedHellos = new WeakSet<Nes.Socket>();
const reporters = new WeakMap<Server, (err: Error) => void>();

function missing(what: string): Error {
    return new Error(`@hapi/nes ${NES_VERSION} internals changed: ${what} (collab reaches it in realtime/nes-internals.ts)`);
}

function nesModule(): { version: string; Socket: { prototype: SocketPrototype } } {
    const require = createRequire(import.meta.url);
    const main = require.resolve('@hapi/nes');
    const local = createRequire(main);
    return { version: (local('../package.json') as { version: string }).version, Socket: local('./socket.js') as { prototype: SocketPrototype } };
}

function disconnect(socket: Nes.Socket): void {
    try {
        void socket.disconnect();
    }
    catch {
        // The socket is already gone.
    }
}

function guard(proto: SocketPrototype): void {
    if (proto[GUARDED]) {
        return;
    }

    const onMessage = proto._onMessage;
    const lifecycle = proto._lifecycle;
    const processHello = proto._processHello;
    proto._lifecycle = function (request) {
        if (exceedsJsonDepth(request)) {
            return Promise.reject(Boom.badRequest(`Message nests deeper than ${MAX_JSON_DEPTH} levels`));
        }

        return lifecycle.call(this, request);
    };

    proto._processHello = async function (request) {
        try {
            return await processHello.call(this, request);
        }
        catch (err) {
            failedHellos.add(this);
            throw err;
        }
    };

    proto._onMessage = function (message) {
        return onMessage.call(this, message)
            .then(() => {
                if (failedHellos.has(this)) {
                    disconnect(this);
                }
            })
            .catch((err: Error) => {
                disconnect(this);
                if (!(err as { isBoom?: boolean }).isBoom) {
                    reporters.get(this.server)?.(err);
                }
            });
    };

    proto[GUARDED] = true;
}

/**
 * Checks nes's internals and guards its socket message handling; call
 * right after registering nes. Removes the `upgrade` listeners nes added to
 * the HTTP listener and returns them with nes's `ws` server. Throws at once
 * (start-up) if anything is missing. `onError` receives unexpected errors
 * of a socket's message handling (the socket is disconnected).
 */
export function takeNes(server: Server, onError: (err: Error) => void): NesServerInternals {
    const { version, Socket } = nesModule();
    if (version !== NES_VERSION) {
        throw missing(`found version ${version}`);
    }

    const proto = Socket.prototype;
    for (const name of ['_onMessage', '_lifecycle', '_processHello', '_setCredentials', 'disconnect', 'isOpen'] as const) {
        if (typeof proto[name] !== 'function') {
            throw missing(`Socket.prototype.${name} is not a function`);
        }
    }

    const wss = (server.plugins as { nes?: { _listener?: { _wss?: WebSocketServer } } }).nes?._listener?._wss;
    if (!wss || typeof wss.handleUpgrade !== 'function' || typeof wss.options !== 'object' || !(wss.clients instanceof Set)) {
        throw missing('server.plugins.nes._listener._wss is not a ws server tracking its clients');
    }

    const upgrades = server.listener.listeners('upgrade') as UpgradeListener[];
    if (upgrades.length !== 1) {
        throw missing(`expected the one 'upgrade' listener of nes's ws server, found ${upgrades.length}`);
    }

    server.listener.removeAllListeners('upgrade');
    guard(proto);
    reporters.set(server, onError);
    return { wss, upgrades };
}

/** The `ws` socket of a nes socket; throws if nes changed. */
export function nesSocketWs(socket: Nes.Socket): WebSocket {
    const ws = (socket as unknown as SocketInternals)._ws;
    if (!ws || typeof ws.send !== 'function') {
        throw missing('socket._ws is missing');
    }

    return ws;
}

/**
 * Runs `check` before nes sets new credentials on this socket (`reauth`;
 * `hello` has already run), then `after`. A throw in `check` refuses the
 * credentials: nes answers the `reauth` with the error and disconnects.
 */
export function interceptCredentials(socket: Nes.Socket, check: (auth: NesAuth) => void, after: () => void): void {
    const internals = socket as unknown as SocketInternals;
    const setCredentials = internals._setCredentials;
    if (typeof setCredentials !== 'function') {
        throw missing('socket._setCredentials is missing');
    }

    internals._setCredentials = (auth) => {
        check(auth);
        setCredentials.call(socket, auth);
        after();
    };
}
