import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import type { Server } from '@hapi/hapi';
import type { WebSocketServer } from 'ws';

import { CloseCode } from './connection.js';
import { plainTarget, type PlainEndpoint } from './plain.js';
import type { RealtimeSettings } from './settings.js';

/** What the dispatcher routes between. */
export interface UpgradeOptions {
    plain: PlainEndpoint;
    /** nes's `ws` server, for its socket count. */
    nes: WebSocketServer;
    settings: RealtimeSettings;
    /** True once the server is stopping: upgrades are refused. */
    stopping: () => boolean;
    onError: (err: Error) => void;
}

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

function reject(socket: Duplex, status: string): void {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Takes over the listener's `upgrade` event, which nes's `ws` server claims
 * whole: `/ws/workspaces/{id}/` goes to the plain endpoint, everything else
 * to nes's own listeners, unchanged. Before either, the origin is checked
 * (`WS_ALLOWED_ORIGINS`; requests without an `Origin` header, i.e. not from
 * a browser, pass) and the server-wide socket cap of both transports.
 * Call after nes is registered.
 */
export function takeOverUpgrades(server: Server, options: UpgradeOptions): void {
    const { plain, nes, settings } = options;
    const listener = server.listener;
    const nesListeners = listener.listeners('upgrade') as UpgradeListener[];
    listener.removeAllListeners('upgrade');

    listener.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        socket.on('error', () => undefined);
        const origin = req.headers.origin;
        if (origin && settings.allowedOrigins.length && !settings.allowedOrigins.includes(origin)) {
            reject(socket, '403 Forbidden');
            return;
        }

        const target = plainTarget(req.url);
        const full = plain.wss.clients.size + nes.clients.size >= settings.maxConnections;
        if (options.stopping() || (full && !target)) {
            reject(socket, '503 Service Unavailable');
            return;
        }

        if (!target) {
            for (const handler of nesListeners) {
                handler.call(listener, req, socket, head);
            }

            return;
        }

        if (full) {
            plain.refuse(req, socket, head, CloseCode.tryAgain, 'server at capacity: reconnect later');
            return;
        }

        plain.upgrade(req, socket, head, target).catch((err: Error) => {
            options.onError(err);
            socket.destroy();
        });
    });
}
