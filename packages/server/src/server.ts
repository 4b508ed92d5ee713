import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

import Hapi from '@hapi/hapi';
import { connect, createLogger, type Config, type Logger } from '@collab/core';
import { Redis } from 'ioredis';
import Joi from 'joi';
import type { Knex } from 'knex';

import './context.js';
import { authPlugin } from './plugins/auth.js';
import { errorsPlugin } from './plugins/errors.js';
import { loggingPlugin } from './plugins/logging.js';
import { routesPlugin } from './routes/index.js';
import { failAction } from './validation.js';

/** What `createServer()` needs; anything not given is opened from the configuration and closed on stop. */
export interface ServerOptions {
    config: Config;
    db?: Knex;
    logger?: Logger;
}

/** Builds (but does not start) a collab API server. */
export async function createServer(options: ServerOptions): Promise<Hapi.Server> {
    const { config } = options;
    const server = Hapi.server({
        host: config.host,
        port: config.port,
        router: { stripTrailingSlash: true },
        routes: {
            validate: { failAction },
            response: { failAction: 'error' },
            payload: { maxBytes: 1024 * 1024 }
        }
    });

    server.validator(Joi);
    const ownsDb = !options.db;
    server.app.config = config;
    server.app.db = options.db ?? connect(config);
    server.app.logger = options.logger ?? createLogger(config.logLevel, 'collab-server');
    server.app.instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    server.app.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    server.app.redis.on('error', (err) => server.app.logger.warn({ err: err.message }, 'redis connection error'));

    server.ext('onPreStart', async () => {
        await server.app.redis.connect().catch(() => {});   // readiness reports a Redis that is down
    });

    server.ext('onPostStop', async () => {
        server.app.redis.disconnect();
        if (ownsDb) {
            await server.app.db.destroy();
        }
    });

    await server.register([loggingPlugin, errorsPlugin, authPlugin, routesPlugin]);
    return server;
}
