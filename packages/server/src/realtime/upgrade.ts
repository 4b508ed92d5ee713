import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

import type { Server } from '@hapi/hapi';
import { CloseCode } from '@collab/protocol';
import type { RealtimeSettings } from '@collab/core';

import { refuseUpgrade, type Admission } from './admission.js';
import type { NesServerInternals } from './nes-internals.js';
import { docTarget, type DocEndpoint } from './doc-endpoint.js';
import { plainTarget, type PlainEndpoint } from './plain.js';

/** What the dispatcher routes between. */
export interface UpgradeOptions {
    plain: PlainEndpoint;
    docs: DocEndpoint;
    /** nes's `ws` server and the `upgrade` listeners taken from it. */
    nes: NesServerInternals;
    admission: Admission;
    settings: RealtimeSettings;
    /** True once the server is stopping: upgrades are refused. */
    stopping: () => boolean;
    onError: (err: Error) => void;
}

/**
 * Handles the listener's `upgrade` event, which nes's `ws` server would
 * claim whole: `/ws/workspaces/{id}/` goes to the plain endpoint,
 * `/yjs/{workspace_id}/{path}` to the document endpoint, everything else to
 * nes's own listeners, unchanged. Before either, the origin is
 * checked (`WS_ALLOWED_ORIGINS`; requests without an `Origin` header, i.e.
 * not from a browser, pass). A nes socket is unauthenticated until its
 * `hello`: it needs a free authenticated place (else HTTP 503) and room in
 * its address's unauthenticated quota (else HTTP 429), both before the
 * handshake; the {@link Admission} counts it from then on. Plain and
 * document sockets authenticate before the handshake. Call after `takeNes`.
 */
export function takeOverUpgrades(server: Server, options: UpgradeOptions): void {
    const { plain, docs, nes, admission, settings } = options;
    const listener = server.listener;
    const clientOf = (req: IncomingMessage) => server.app.clientAddresses.of(req);
    nes.wss.on('connection', (ws, req) => admission.admit(ws, clientOf(req)));

    listener.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        socket.on('error', () => undefined);
        const origin = req.headers.origin;
        if (origin && settings.allowedOrigins.length && !settings.allowedOrigins.includes(origin)) {
            refuseUpgrade(socket, 403, 'origin not allowed');
            return;
        }

        if (options.stopping()) {
            refuseUpgrade(socket, 503, 'server stopping: reconnect later');
            return;
        }

        const doc = docTarget(req.url);
        if (doc) {
            if (admission.full()) {
                plain.refuse(req, socket, head, CloseCode.tryAgain, 'server at capacity: reconnect later');
                return;
            }

            docs.upgrade(req, socket, head, doc).catch((err: Error) => {
                options.onError(err);
                socket.destroy();
            });
            return;
        }

        const target = plainTarget(req.url);
        if (!target) {
            const refusal = admission.full() ? { status: 503 as const, reason: 'server at capacity: reconnect later' } : admission.reserve(clientOf(req));
            if (refusal) {
                refuseUpgrade(socket, refusal.status, refusal.reason);
                return;
            }

            for (const handler of nes.upgrades) {
                handler.call(listener, req, socket, head);
            }

            return;
        }

        if (admission.full()) {
            plain.refuse(req, socket, head, CloseCode.tryAgain, 'server at capacity: reconnect later');
            return;
        }

        plain.upgrade(req, socket, head, target).catch((err: Error) => {
            options.onError(err);
            socket.destroy();
        });
    });
}
