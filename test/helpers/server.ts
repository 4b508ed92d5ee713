import { randomUUID } from 'node:crypto';

import type { Server, ServerInjectOptions } from '@hapi/hapi';
import { createServer, type ServerOptions } from '@collab/server';
import { advertiseWorker, type Config, type Logger, type RealtimeSettings } from '@collab/core';
import { Redis } from 'ioredis';

import { testConfig, REDIS_URL } from './config.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/** A signed-in test user. */
export interface TestUser {
    id: number;
    email: string;
    access: string;
    refresh: string;
}

/** What a test sends through `call()`. */
export interface CallOptions {
    token?: string;
    payload?: unknown;
    headers?: Record<string, string>;
}

export interface TestServer {
    server: Server;
    config: Config;
    database: TestDatabase;
    /** `server.inject` with a Bearer token. */
    call(method: string, url: string, options?: CallOptions): Promise<Awaited<ReturnType<Server['inject']>>>;
    /** Registers and logs in a new user. */
    user(name?: string): Promise<TestUser>;
    stop(): Promise<void>;
}

/** What `startTestServer()` takes. */
export interface TestServerOptions {
    /** Variables over {@link testConfig}'s. */
    env?: Record<string, string>;
    /** A whole configuration instead (e.g. one several servers share); its Redis keys are then the caller's to clean. */
    config?: Config;
    /** Listen on port 0 (for sockets); otherwise the server is only initialized, for `inject`. */
    listen?: boolean;
    /** A database of the caller's (not dropped on stop); default: a fresh one. */
    database?: TestDatabase;
    logger?: Logger;
    /** Real-time settings over the configuration's. */
    realtime?: Partial<RealtimeSettings>;
    /** Timings of collaborative documents over the defaults. */
    docs?: ServerOptions['docs'];
    /** How long `stop()` lets open connections drain before cutting them (hapi's default: 5 s). */
    stopTimeoutMs?: number;
}

/** A collab server on its own database and Redis prefix: the one way tests make a server in-process. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
    const config = options.config ?? testConfig(options.env);
    const database = options.database ?? await createTestDatabase();
    const server = await createServer({ config, db: database.db, logger: options.logger, realtime: options.realtime, docs: options.docs });
    await (options.listen ? server.start() : server.initialize());

    const call: TestServer['call'] = (method, url, { token, payload, headers = {} } = {}) => {
        const request: ServerInjectOptions = { method, url, headers: { ...headers }, payload: payload as ServerInjectOptions['payload'] };
        if (token) {
            request.headers!.authorization = `Bearer ${token}`;
        }

        return server.inject(request);
    };

    const user: TestServer['user'] = async (name = 'user') => {
        const email = `${name}-${randomUUID().slice(0, 8)}@example.com`;
        const password = 'correct horse battery';
        const registered = await call('POST', '/api/auth/register/', { payload: { email, password, name } });
        if (registered.statusCode !== 201) {
            throw new Error(`register failed: ${registered.payload}`);
        }

        const login = await call('POST', '/api/auth/login/', { payload: { email, password } });
        const tokens = login.result as { access: string; refresh: string };
        return { id: (registered.result as { id: number }).id, email, ...tokens };
    };

    return {
        server,
        config,
        database,
        call,
        user,
        stop: async () => {
            await server.stop({ timeout: options.stopTimeoutMs ?? 5000 });
            if (!options.config) {
                await cleanRedis(config.redisPrefix);
            }

            if (!options.database) {
                await database.drop();
            }
        }
    };
}

/** The id of the worker {@link advertiseFakeWorker} advertises. */
export const FAKE_WORKER_ID = 'fake-worker';

/**
 * Advertises a worker that runs the given languages (name → version) on the
 * test server's prefix, so submits of them are accepted; no worker takes the
 * jobs, so they stay queued.
 */
export function advertiseFakeWorker(t: TestServer, versions: Record<string, string>, ttlMs = 600_000): Promise<void> {
    return advertiseWorker(t.server.app.redis, t.config.redisPrefix, {
        id: FAKE_WORKER_ID, languages: Object.keys(versions), versions, concurrency: 1, running: 0, last_seen: new Date().toISOString()
    }, ttlMs);
}

/** Deletes every Redis key under a test prefix. */
export async function cleanRedis(prefix: string): Promise<void> {
    const redis = new Redis(REDIS_URL);
    try {
        let cursor = '0';
        do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
            cursor = next;
            if (keys.length) {
                await redis.del(...keys);
            }
        } while (cursor !== '0');
    }
    finally {
        redis.disconnect();
    }
}
