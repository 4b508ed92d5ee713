import Boom from '@hapi/boom';
import type { Plugin, Request, RequestRoute, ResponseObject } from '@hapi/hapi';
import { createRedis } from '@collab/core';

import { FixedWindowCounter } from './rate-limit-window.js';

/** How long a request waits for its count before it goes through unlimited. */
export const COUNTER_TIMEOUT_MS = 500;

/** Every limit counts requests per minute. */
export const WINDOW_MS = 60_000;

/** Routes with any of these tags are never rate limited (operations, API docs, the web console's static files). */
export const UNLIMITED_TAGS = ['ops', 'docs', 'console'];

declare module '@hapi/hapi' {
    interface PluginSpecificConfiguration {
        /** collab's own route settings. */
        collab?: {
            /** `'auth'` adds the strict per-IP limit of login and register (`RATE_LIMIT_AUTH`). */
            rateLimit?: 'auth';
        };
    }
}

/** One limit as a response reports it; `remaining` is negative once exceeded. */
interface Quota {
    limit: number;
    remaining: number;
    resetAt: number;
}

function unlimited(route: RequestRoute): boolean {
    // Internal routes answer the server itself (nes's socket authentication): sockets have limits of their own.
    return route.settings.isInternal === true || (route.settings.tags ?? []).some((tag) => UNLIMITED_TAGS.includes(tag));
}

/** The authenticated user's id; undefined for anonymous requests (counted per IP). */
function userId(request: Request): string | undefined {
    const id = request.auth.isAuthenticated ? (request.auth.credentials.user as { id?: unknown } | undefined)?.id : undefined;
    return typeof id === 'number' || typeof id === 'string' ? String(id) : undefined;
}

/**
 * Rate limits (DESIGN §3, §4), each a fixed window of a minute counted
 * atomically in Redis under `<REDIS_PREFIX>rate:` (see FixedWindowCounter), so
 * they hold exactly under concurrency, on one instance or many:
 *
 * - `RATE_LIMIT_USER` requests a minute per authenticated user (`user:<id>`),
 *   `RATE_LIMIT_IP` per IP for anonymous ones (`ip:<address>`), counted once
 *   authentication is done: requests that fail authentication are not counted.
 * - Routes with `plugins.collab.rateLimit = 'auth'` (login, register) also
 *   get `RATE_LIMIT_AUTH` a minute per IP (`auth:<address>`), before
 *   authentication and validation.
 * - Routes tagged `ops` or `docs` are not limited, nor internal ones (the
 *   authentication of a nes socket's `hello`, which `WS_*` limits instead,
 *   as they do plain sockets).
 *
 * Every request counts, refused ones too. Responses carry
 * `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch
 * seconds when the window ends) of the tightest limit that applies; a 429
 * adds `Retry-After` (seconds). When Redis does not answer, requests are not
 * limited (fail open): an outage of the counters must not take the API down.
 * The limits come back with Redis.
 * The client address is the socket's, or from `X-Forwarded-For` when the socket is a
 * trusted proxy (`TRUSTED_PROXIES`, see ClientAddresses).
 */
export const rateLimitPlugin: Plugin<void> = {
    name: 'collab-rate-limit',
    version: '1.0.0',
    register: (server) => {
        const { config, logger } = server.app;
        // Auto-pipelining sends the counts of concurrent requests in one write: one round trip for many requests.
        const client = createRedis(config, {
            keyPrefix: `${config.redisPrefix}rate:`,
            lazyConnect: true,
            enableOfflineQueue: false,
            maxRetriesPerRequest: 1,
            // A Redis that hangs with its connection open must not hang every request: fail open instead.
            commandTimeout: COUNTER_TIMEOUT_MS,
            enableAutoPipelining: true
        });
        client.on('error', () => {});       // the counter reports outages once, not per retry
        const counter = new FixedWindowCounter(client, WINDOW_MS, (healthy, err) => {
            if (healthy) {
                logger.info('rate limits: Redis answers again');
            }
            else {
                logger.warn({ err: err?.message }, 'rate limits: Redis is not answering, requests are not limited');
            }
        });
        server.ext('onPreStart', () => counter.start());
        server.ext('onPostStop', () => counter.stop());

        const quotas = new WeakMap<Request, Quota[]>();
        const count = async (request: Request, key: string, limit: number, message: string): Promise<void> => {
            const hit = await counter.hit(key);
            if (!hit) {
                return;
            }

            const quota = { limit, remaining: limit - hit.count, resetAt: hit.resetAt };
            quotas.set(request, [...quotas.get(request) ?? [], quota]);
            if (quota.remaining < 0) {
                throw Boom.tooManyRequests(message);
            }
        };

        server.ext('onPreAuth', async (request, h) => {
            if (request.route.settings.plugins?.collab?.rateLimit === 'auth' && !unlimited(request.route)) {
                await count(request, `auth:${server.app.clientAddresses.of(request.raw.req)}`, config.rateLimit.auth, 'Too many attempts: try again later');
            }

            return h.continue;
        });

        server.ext('onPostAuth', async (request, h) => {
            if (unlimited(request.route)) {
                return h.continue;
            }

            const user = userId(request);
            if (user === undefined) {
                await count(request, `ip:${server.app.clientAddresses.of(request.raw.req)}`, config.rateLimit.ip, 'Rate limit exceeded');
            }
            else {
                await count(request, `user:${user}`, config.rateLimit.user, 'Rate limit exceeded');
            }

            return h.continue;
        });

        server.ext('onPreResponse', (request, h) => {
            const applied = quotas.get(request);
            if (applied) {
                addHeaders(request, applied);
            }

            return h.continue;
        });
    }
};

/** Headers of the tightest quota; on a 429 of these limits, `Retry-After` until every exceeded one has reset. */
function addHeaders(request: Request, applied: Quota[]): void {
    const tightest = applied.reduce((a, b) => (b.remaining < a.remaining ? b : a));
    const headers: Record<string, string> = {
        'X-RateLimit-Limit': String(tightest.limit),
        'X-RateLimit-Remaining': String(Math.max(0, tightest.remaining)),
        'X-RateLimit-Reset': String(Math.ceil(tightest.resetAt / 1000))
    };
    const response = request.response;
    if (Boom.isBoom(response)) {
        // A 429 of another limit (the job quota) keeps its own Retry-After.
        if (response.output.statusCode === 429 && !response.output.headers['Retry-After']) {
            const resetAt = Math.max(...applied.filter((quota) => quota.remaining < 0).map((quota) => quota.resetAt), tightest.resetAt);
            headers['Retry-After'] = String(Math.max(1, Math.ceil((resetAt - Date.now()) / 1000)));
        }

        Object.assign(response.output.headers, headers);
        return;
    }

    for (const [name, value] of Object.entries(headers)) {
        (response as ResponseObject).header(name, value);
    }
}
