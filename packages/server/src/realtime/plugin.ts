import type { Plugin, Request } from '@hapi/hapi';
import type { Nes } from '@hapi/nes';
import Joi from 'joi';
import type { Registry } from 'prom-client';
import { CloseCode } from '@collab/protocol';
import type { RealtimeSettings } from '@collab/core';

import { AccessCache } from './access-cache.js';
import { Admission } from './admission.js';
import { startCensus } from './census.js';
import { AccessControl } from './control.js';
import { DocEndpoint } from './doc-endpoint.js';
import { Hub } from './hub.js';
import { realtimeMetrics, type RealtimeMetrics } from './metrics.js';
import { limitRequest } from './guard.js';
import { nesConnection, registerNes } from './nes.js';
import type { NesConnection } from './nes-connection.js';
import { PlainEndpoint } from './plain.js';
import { takeOverUpgrades } from './upgrade.js';

/** What the `collab-realtime` plugin exposes as `server.plugins['collab-realtime']`. */
export interface RealtimeApi {
    hub: Hub;
    settings: RealtimeSettings;
    metrics: RealtimeMetrics;
    /** Live access changes (membership re-checks, closing a user's sockets) on every instance. */
    control: AccessControl;
    /** The connection of an authenticated nes socket (`request.socket` of a nes request), if any. */
    connectionOf(socket: Nes.Socket | null | undefined): NesConnection | undefined;
    /** Applies a nes socket's message rate limit to a request it sent (none for HTTP): 429 over it, 1008 when the client keeps going. */
    limitRequest(request: Request): void;
    /** Open sockets on this instance, by transport. */
    sockets(): { nes: number; ws: number };
    /** Open sockets not (yet) authenticated, both transports. */
    anonymous(): number;
}

declare module '@hapi/hapi' {
    interface PluginProperties {
        'collab-realtime': RealtimeApi;
    }
}

/** Options of the `collab-realtime` plugin: settings over the configuration's (`config.realtime`). */
export interface RealtimePluginOptions {
    settings?: Partial<RealtimeSettings>;
}

const CLOSE_WAIT_MS = 1_500;

const optionsSchema = Joi.object({ settings: Joi.object().pattern(Joi.string(), [Joi.number().min(0), Joi.array().items(Joi.string())]) });

/**
 * Both real-time transports on the server's own port, bound to
 * `server.app.bus` (register `collab-bus`, `collab-auth` and `collab-docs`
 * first): nes with the workspace subscriptions, the plain WebSocket endpoint
 * `/ws/workspaces/{id}/` and the document endpoint `/yjs/{workspace_id}/{path}`. Registers `@hapi/nes`, so plugins registered
 * after this one may add nes subscriptions with `server.subscription()`.
 * On stop, every socket is closed with 1012 (reconnect) before nes's own
 * shutdown, and presence updates finish before the bus closes.
 */
export const realtimePlugin: Plugin<RealtimePluginOptions> = {
    name: 'collab-realtime',
    version: '1.0.0',
    dependencies: ['collab-bus', 'collab-auth', 'collab-docs'],
    register: async (server, options) => {
        Joi.assert(options, optionsSchema, 'collab-realtime options');
        const settings: RealtimeSettings = { ...server.app.config.realtime, ...options.settings };
        const { logger } = server.app;
        const onError = (err: Error) => logger.warn({ err: err.message }, 'realtime error');
        const counts = { nes: () => 0, ws: () => 0 };
        const sockets = () => ({ nes: counts.nes(), ws: counts.ws() });
        const metrics = realtimeMetrics(server.app.metrics as Registry | undefined, sockets);
        const hub = new Hub(server.app.bus, server.app.presence, { ...metrics.hooks, onError });
        const onSlow = () => metrics.slowConsumer();

        const admission = new Admission(settings, () => counts.nes() + counts.ws());
        const access = new AccessCache(server.app.db);
        const nes = await registerNes(server, { hub, access, settings, admission, onSlow, onError });
        const plain = new PlainEndpoint(server, hub, settings, admission, access, { onSlow, onError });
        const docs = new DocEndpoint(server, hub, server.plugins['collab-docs'].registry, settings, admission, plain, { onSlow, onError });
        counts.nes = () => nes.wss.clients.size;
        counts.ws = () => plain.wss.clients.size + docs.wss.clients.size;
        let stopping = false;
        takeOverUpgrades(server, { plain, docs, nes, admission, settings, stopping: () => stopping, onError });
        const control = new AccessControl(server, hub, access);
        control.start();
        const api: RealtimeApi = { hub, settings, metrics, control, connectionOf: nesConnection, limitRequest, sockets, anonymous: () => admission.anonymous };
        // One key at a time: expose(object) deep-clones, which would hand out a copy of the hub.
        for (const [key, value] of Object.entries(api)) {
            server.expose(key, value);
        }

        let stopCensus: (() => Promise<void>) | undefined;
        server.ext('onPostStart', () => {
            stopping = false;
            stopCensus = startCensus(server, () => counts.nes() + counts.ws());
        });

        server.ext('onPreStop', async () => {
            stopping = true;
            control.stop();
            await closeAll(hub, [plain, docs]);
            await Promise.all([hub.drain(), stopCensus?.()]);
        }, { before: ['@hapi/nes'] });
    }
};

async function closeAll(hub: Hub, endpoints: Array<PlainEndpoint | DocEndpoint>): Promise<void> {
    for (const connection of hub.connections()) {
        connection.close(CloseCode.restart, 'server restarting: reconnect');
    }

    for (const endpoint of endpoints) {
        endpoint.close(CloseCode.restart, 'server restarting: reconnect');
    }

    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (hub.connections().length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}
