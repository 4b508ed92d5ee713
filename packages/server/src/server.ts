import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

import Hapi from '@hapi/hapi';
import { connect, createLogger, createRedis, type Config, type Logger, type RealtimeSettings } from '@collab/core';
import Joi from 'joi';
import type { Knex } from 'knex';

import './context.js';
import { ClientAddresses } from './client-address.js';
import { authPlugin } from './plugins/auth.js';
import { consolePlugin } from './plugins/console.js';
import { busPlugin } from './plugins/bus.js';
import { docsPlugin, type DocsPluginOptions } from './docs/plugin.js';
import { errorsPlugin } from './plugins/errors.js';
import { inputPlugin } from './plugins/input.js';
import { createListener } from './listener.js';
import { loggingPlugin } from './plugins/logging.js';
import { metricsPlugin } from './plugins/metrics.js';
import { opsPlugin } from './plugins/ops.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { swaggerPlugin } from './plugins/swagger.js';
import { jobsPlugin } from './jobs/plugin.js';
import { realtimePlugin } from './realtime/plugin.js';
import { routesPlugin } from './routes/index.js';
import { failAction } from './validation.js';

/** What `createServer()` needs; anything not given is opened from the configuration and closed on stop. */
export interface ServerOptions {
    config: Config;
    db?: Knex;
    logger?: Logger;
    /** Real-time limits over those read from the environment (`WS_*`, `PRESENCE_TTL_MS`). */
    realtime?: Partial<RealtimeSettings>;
    /** Timings of collaborative documents over the defaults (tests shorten them). */
    docs?: DocsPluginOptions['settings'];
}

/** Builds (but does not start) a collab API server. */
export async function createServer(options: ServerOptions): Promise<Hapi.Server> {
    const { config } = options;
    const server = Hapi.server({
        listener: createListener(),
        host: config.host,
        port: config.port,
        router: { stripTrailingSlash: true },
        routes: {
            validate: { failAction },
            // Responses are checked against their schemas everywhere but production (the tests keep the docs honest).
            response: { failAction: 'error', sample: config.nodeEnv === 'production' ? 0 : 100 },
            payload: { maxBytes: 1024 * 1024 }
        }
    });

    server.validator(Joi);
    const ownsDb = !options.db;
    server.app.config = config;
    server.app.db = options.db ?? connect(config);
    server.app.logger = options.logger ?? createLogger(config.logLevel, 'collab-server');
    server.app.instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    server.app.clientAddresses = new ClientAddresses(config.trustedProxies);
    server.app.redis = createRedis(config, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    server.app.redis.on('error', (err: Error) => server.app.logger.warn({ err: err.message }, 'redis connection error'));

    server.ext('onPreStart', async () => {
        await server.app.redis.connect().catch(() => {});   // readiness reports a Redis that is down
    });

    server.ext('onPostStop', async () => {
        server.app.redis.disconnect();
        if (ownsDb) {
            await server.app.db.destroy();
        }
    });

    await server.register([metricsPlugin, loggingPlugin, errorsPlugin, authPlugin, rateLimitPlugin, inputPlugin, opsPlugin, swaggerPlugin]);
    // The bus and realtime (which registers nes) come before any plugin that adds nes subscriptions, e.g. /jobs/{job_id}.
    const realtime = { ...config.realtime, ...options.realtime };
    await server.register({ plugin: busPlugin, options: { presenceTtlMs: realtime.presenceTtlMs } });
    await server.register({ plugin: docsPlugin, options: { settings: options.docs } });
    await server.register({ plugin: realtimePlugin, options: { settings: realtime } });
    await server.register([jobsPlugin, routesPlugin, consolePlugin]);
    return server;
}
