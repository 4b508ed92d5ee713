import type { Plugin, RouteOptions } from '@hapi/hapi';
import Joi from 'joi';

/** How long `/readyz` waits for each backing service. */
export const READY_TIMEOUT_MS = 1500;

const NAMES = { database: 'Database', redis: 'Redis' } as const;

type Check = 'ok' | 'unavailable';

const checkValue = Joi.string().valid('ok', 'unavailable');
const ready = Joi.object({
    status: Joi.string().valid('ok', 'unavailable').required(),
    checks: Joi.object({ database: checkValue.required(), redis: checkValue.required() }).required(),
    message: Joi.string()
}).label('Readiness');

/**
 * Operations routes: `GET /healthz` (the process is up), `GET /readyz` (the
 * database and Redis answer within `READY_TIMEOUT_MS`, checked in parallel;
 * 503 names the one that does not) and `GET /metrics` (Prometheus text of
 * `server.app.metrics`). They need no token, are tagged `ops` (which the
 * rate-limit plugin exempts) and are left out of the Swagger spec on purpose:
 * they are for load balancers and scrapers, not API clients, and `/metrics`
 * belongs off public networks.
 */
export const opsPlugin: Plugin<void> = {
    name: 'collab-ops',
    version: '1.0.0',
    dependencies: ['collab-metrics'],
    register: (server) => {
        const common: RouteOptions = { auth: false, tags: ['ops'] };

        server.route([
            {
                method: 'GET',
                path: '/healthz',
                options: {
                    ...common,
                    description: 'Liveness: the process is up',
                    response: { status: { 200: Joi.object({ status: Joi.string().valid('ok').required() }).label('Health') } },
                    handler: () => ({ status: 'ok' })
                }
            },
            {
                method: 'GET',
                path: '/readyz',
                options: {
                    ...common,
                    description: 'Readiness: the database and Redis answer',
                    response: { status: { 200: ready, 503: ready } },
                    handler: async (request, h) => {
                        const { db, redis } = request.server.app;
                        const [database, cache] = await Promise.all([
                            probe(() => db.raw('select 1')),
                            probe(() => redis.ping())
                        ]);
                        const checks = { database, redis: cache };
                        const failing = (Object.keys(checks) as Array<keyof typeof checks>).filter((name) => checks[name] !== 'ok');
                        if (!failing.length) {
                            return { status: 'ok', checks };
                        }

                        const message = `${failing.map((name) => NAMES[name]).join(' and ')} ${failing.length > 1 ? 'are' : 'is'} not answering`;
                        return h.response({ status: 'unavailable', checks, message }).code(503);
                    }
                }
            },
            {
                method: 'GET',
                path: '/metrics',
                options: {
                    ...common,
                    description: 'Prometheus metrics of this server process (keep it off public networks)',
                    response: { status: { 200: Joi.string() } },
                    handler: async (request, h) => {
                        const registry = request.server.app.metrics;
                        return h.response(await registry.metrics()).type(registry.contentType);
                    }
                }
            }
        ]);
    }
};

/** Runs a check; anything but an answer within the timeout is `unavailable`. */
async function probe(check: () => PromiseLike<unknown>): Promise<Check> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Check>((resolve) => {
        timer = setTimeout(() => resolve('unavailable'), READY_TIMEOUT_MS);
    });
    const answer = Promise.resolve().then(check).then(() => 'ok' as const).catch(() => 'unavailable' as const);
    try {
        return await Promise.race([answer, timeout]);
    }
    finally {
        clearTimeout(timer);
    }
}
