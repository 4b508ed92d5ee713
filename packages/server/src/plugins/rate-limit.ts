import { createRequire } from 'node:module';

import Boom from '@hapi/boom';
import type { Lifecycle, Plugin, Request, RequestRoute, ResponseObject } from '@hapi/hapi';

import { RateLimitStore } from './rate-limit-store.js';
import { FixedWindowCounter } from './rate-limit-window.js';

/** Every limit counts requests per minute. */
export const WINDOW_MS = 60_000;

/** Routes with any of these tags are never rate limited (operations, API docs). */
export const UNLIMITED_TAGS = ['ops', 'docs'];

const LIMITER = 'hapi-rate-limit';
/** The server cache of the counters: its store counts (see RateLimitStore), so it serves nothing else. */
const CACHE = 'rate-limit';

// hapi-rate-limit ships no types: typed here rather than by an ambient module every consumer would need.
const HapiRateLimit = createRequire(import.meta.url)(LIMITER) as Plugin<Record<string, unknown>>;

declare module '@hapi/hapi' {
    interface PluginSpecificConfiguration {
        /** collab's own route settings. */
        collab?: {
            /** `'auth'` adds the strict per-IP limit of login and register (`RATE_LIMIT_AUTH`). */
            rateLimit?: 'auth';
        };
    }
}

/** What hapi-rate-limit 8 keeps in `request.plugins['hapi-rate-limit']` (its internals: tests guard them). */
interface LimiterState {
    settings: { enabled: boolean; userLimit: number | false };
    userLimit?: number | false;
    userRemaining?: number;
    /** Epoch ms. */
    userReset?: number;
}

/** One limit as a response reports it; `remaining` is negative once exceeded. */
interface Quota {
    limit: number;
    remaining: number;
    resetAt: number;
}

function limiterState(request: Request): LimiterState | undefined {
    return (request.plugins as Record<string, LimiterState | undefined>)[LIMITER];
}

function unlimited(route: RequestRoute): boolean {
    return (route.settings.tags ?? []).some((tag) => UNLIMITED_TAGS.includes(tag));
}

/**
 * Rate limits (DESIGN §3, §4), counted in Redis under `<REDIS_PREFIX>rate:` so
 * they hold across instances:
 *
 * - hapi-rate-limit counts `RATE_LIMIT_USER` requests a minute per
 *   authenticated user (keyed by `credentials.user.id`) and `RATE_LIMIT_IP`
 *   per IP for anonymous ones. It reads, decides, then writes, and catbox
 *   joins concurrent reads of one key, so a concurrent burst gets through
 *   whole (test/server/rate-limit.test.ts measures it); the store counts
 *   every request of it, so the limit holds right after.
 * - Routes with `plugins.collab.rateLimit = 'auth'` (login, register) also
 *   get `RATE_LIMIT_AUTH` a minute per IP, on an atomic counter, before
 *   authentication and validation.
 * - Routes tagged `ops` or `docs` are not limited; requests that fail
 *   authentication are not counted (they never reach hapi-rate-limit's step).
 *
 * Responses carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
 * `X-RateLimit-Reset` (epoch seconds when the window ends) of the tightest
 * limit that applies; a 429 adds `Retry-After` (seconds). When Redis does not
 * answer, requests are not limited (fail open): an outage of the counters must
 * not take the API down. The limits come back with Redis.
 * The client address is the socket's: behind a proxy every client shares its address.
 */
export const rateLimitPlugin: Plugin<void> = {
    name: 'collab-rate-limit',
    version: '1.0.0',
    register: async (server) => {
        const { config, logger } = server.app;
        // Auto-pipelining sends the counts of concurrent requests in one write: one round trip for many requests.
        const client = server.app.redis.duplicate({
            keyPrefix: `${config.redisPrefix}rate:`,
            lazyConnect: true,
            enableOfflineQueue: false,
            maxRetriesPerRequest: 1,
            enableAutoPipelining: true
        });
        client.on('error', () => {});       // the store reports outages once, not per retry
        const store = new RateLimitStore(client, (healthy, err) => {
            if (healthy) {
                logger.info('rate limits: Redis answers again');
            }
            else {
                logger.warn({ err: err?.message }, 'rate limits: Redis is not answering, requests are not limited');
            }
        });
        await server.cache.provision({ name: CACHE, engine: store });

        const cache = (segment: string) => ({ cache: CACHE, segment, expiresIn: WINDOW_MS });
        await server.register({
            plugin: HapiRateLimit,
            options: {
                userLimit: config.rateLimit.user,
                userAttribute: 'user.id',
                userCache: cache('user'),
                pathLimit: false,
                pathCache: cache('path'),
                userPathLimit: false,
                userPathCache: cache('user-path'),
                authLimit: false,
                authCache: cache('auth-failures'),
                headers: false,
                limitExceededResponse: () => Boom.tooManyRequests('Rate limit exceeded')
            }
        });

        const strict = new WeakMap<Request, Quota>();
        server.ext('onPreAuth', strictLimit(new FixedWindowCounter(client, WINDOW_MS), config.rateLimit.auth, strict), { after: [LIMITER] });
        server.ext('onPostAuth', (request, h) => {
            const state = limiterState(request);
            if (state && !request.auth.isAuthenticated) {
                state.settings.userLimit = config.rateLimit.ip;
            }

            return h.continue;
        }, { before: [LIMITER] });
        server.ext('onPreResponse', (request, h) => {
            const quotas = [strict.get(request), pluginQuota(limiterState(request))].filter((q): q is Quota => !!q);
            if (quotas.length) {
                addHeaders(request, quotas.reduce((a, b) => (b.remaining < a.remaining ? b : a)));
            }

            return h.continue;
        }, { after: [LIMITER] });
    }
};

/** Exempts unlimited routes from hapi-rate-limit, and counts login and register per IP, atomically. */
function strictLimit(counter: FixedWindowCounter, limit: number, quotas: WeakMap<Request, Quota>): Lifecycle.Method {
    return async (request, h) => {
        if (unlimited(request.route)) {
            const state = limiterState(request);
            if (state) {
                state.settings.enabled = false;
            }

            return h.continue;
        }

        if (request.route.settings.plugins?.collab?.rateLimit === 'auth') {
            const hit = await counter.hit(`auth:${request.info.remoteAddress}`);
            if (hit) {
                const quota = { limit, remaining: limit - hit.count, resetAt: hit.resetAt };
                quotas.set(request, quota);
                if (quota.remaining < 0) {
                    throw Boom.tooManyRequests('Too many attempts: try again later');
                }
            }
        }

        return h.continue;
    };
}

function addHeaders(request: Request, quota: Quota): void {
    const headers: Record<string, string> = {
        'X-RateLimit-Limit': String(quota.limit),
        'X-RateLimit-Remaining': String(Math.max(0, quota.remaining)),
        'X-RateLimit-Reset': String(Math.ceil(quota.resetAt / 1000))
    };
    const response = request.response;
    if (Boom.isBoom(response)) {
        // A 429 of another limit (the job quota) keeps its own Retry-After.
        if (response.output.statusCode === 429 && !response.output.headers['Retry-After']) {
            headers['Retry-After'] = String(Math.max(1, Math.ceil((quota.resetAt - Date.now()) / 1000)));
        }

        Object.assign(response.output.headers, headers);
        return;
    }

    for (const [name, value] of Object.entries(headers)) {
        (response as ResponseObject).header(name, value);
    }
}

function pluginQuota(state: LimiterState | undefined): Quota | undefined {
    if (!state || typeof state.userLimit !== 'number' || state.userRemaining === undefined || state.userReset === undefined) {
        return undefined;
    }

    return { limit: state.userLimit, remaining: state.userRemaining, resetAt: state.userReset };
}
