import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import knex from 'knex';
import { register as globalRegistry } from 'prom-client';

import { READY_TIMEOUT_MS } from '../../packages/server/src/plugins/ops.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const DEAD_DATABASE = 'postgres://postgres@127.0.0.1:1/x';

describe('operations routes', () => {
    let t: TestServer;
    before(async () => {
        t = await startTestServer();
    });
    after(() => t.stop());

    it('answers /healthz without a token', async () => {
        const res = await t.server.inject('/healthz');
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.result, { status: 'ok' });
    });

    it('answers /readyz with every check ok when the database and Redis answer', async () => {
        const res = await t.server.inject('/readyz');
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.result, { status: 'ok', checks: { database: 'ok', redis: 'ok' } });
    });

    it('leaves the operations routes out of the Swagger spec', async () => {
        const spec = (await t.server.inject('/swagger.json')).result as { paths: Record<string, unknown> };
        for (const path of ['/healthz', '/readyz', '/metrics']) {
            assert.equal(path in spec.paths, false, path);
        }
    });
});

describe('/readyz when a backing service is down', () => {
    const db = knex({ client: 'pg', connection: DEAD_DATABASE, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 10_000, log: { warn() {}, error() {} } });
    let redis: RedisServer;
    let noRedis: TestServer;
    let noDatabase: TestServer;
    before(async () => {
        redis = await RedisServer.reserve();
        noRedis = await startTestServer({ env: { REDIS_URL: redis.url } });
        noDatabase = await startTestServer({ database: { db, drop: () => db.destroy() } });
    });
    after(async () => {
        await redis.start();            // the event bus closes its subscriber only once Redis answers
        await noRedis.stop();
        await redis.stop();
        await noDatabase.stop();
        await db.destroy();
    });

    it('answers 503 naming Redis within the check timeout when Redis is down', async () => {
        const started = Date.now();
        const res = await noRedis.server.inject('/readyz');
        assert.ok(Date.now() - started < READY_TIMEOUT_MS + 3000, `answered after ${Date.now() - started} ms: a check waits ${READY_TIMEOUT_MS} ms at most`);
        assert.equal(res.statusCode, 503);
        assert.deepEqual(res.result, { status: 'unavailable', checks: { database: 'ok', redis: 'unavailable' }, message: 'Redis is not answering' });
        assert.equal((await noRedis.server.inject('/healthz')).statusCode, 200);
    });

    it('answers 200 again once Redis is back', async () => {
        await redis.start();
        await until(async () => (await noRedis.server.inject('/readyz')).statusCode === 200, 15_000, 'readiness');
    });

    it('answers 503 naming the database within the check timeout when PostgreSQL is down', async () => {
        const started = Date.now();
        const res = await noDatabase.server.inject('/readyz');
        assert.ok(Date.now() - started < READY_TIMEOUT_MS + 3000, `answered after ${Date.now() - started} ms: a check waits ${READY_TIMEOUT_MS} ms at most`);
        assert.equal(res.statusCode, 503);
        assert.deepEqual(res.result, { status: 'unavailable', checks: { database: 'unavailable', redis: 'ok' }, message: 'Database is not answering' });
    });
});

describe('/metrics', () => {
    let a: TestServer;
    let b: TestServer;
    before(async () => {
        a = await startTestServer();
        b = await startTestServer({ database: a.database });
    });
    after(async () => {
        await b.stop();
        await a.stop();
    });

    it('counts requests by method, route pattern and status, never by raw path', async () => {
        const user = await a.user('metrics');
        for (const id of [123456, 654321]) {
            assert.equal((await a.call('GET', `/api/projects/projects/${id}/`, { token: user.access })).statusCode, 404);
        }

        const res = await a.server.inject('/metrics');
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/plain/);
        assert.match(res.payload, /^http_requests_total\{method="GET",route="\/api\/projects\/projects\/\{id\}",status="404"\} 2$/m);
        assert.match(res.payload, /^http_requests_total\{method="POST",route="\/api\/auth\/login",status="200"\} 1$/m);
        assert.match(res.payload, /^http_request_duration_seconds_count\{method="GET",route="\/api\/projects\/projects\/\{id\}"\} 2$/m);
        assert.match(res.payload, /^http_request_duration_seconds_bucket\{le="0.005",/m);
        assert.match(res.payload, /^process_cpu_user_seconds_total /m);
        assert.match(res.payload, /^nodejs_eventloop_lag_seconds /m);
        assert.doesNotMatch(res.payload, /123456|654321/);
    });

    it('keeps a registry per server, apart from prom-client\'s global one', async () => {
        await b.server.inject('/healthz');
        await b.server.inject('/healthz');
        const fromA = (await a.server.inject('/metrics')).payload;
        const fromB = (await b.server.inject('/metrics')).payload;
        assert.doesNotMatch(fromA, /route="\/healthz"/);
        assert.match(fromB, /^http_requests_total\{method="GET",route="\/healthz",status="200"\} 2$/m);
        assert.notEqual(a.server.app.metrics, b.server.app.metrics);
        assert.equal(globalRegistry.getSingleMetric('http_requests_total'), undefined);
    });
});
