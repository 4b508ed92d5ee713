import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { loggerOptions } from '@collab/core';
import type { Server } from '@hapi/hapi';
import { Redis } from 'ioredis';
import { pino } from 'pino';

import { REDIS_URL, testPrefix } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { COUNTER_TIMEOUT_MS } from '../../packages/server/src/plugins/rate-limit.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { nesClient } from '../realtime/helpers.js';

const PASSWORD = 'correct horse battery';
let nextIp = 1;
const freshIp = () => `10.9.${Math.floor(nextIp / 250)}.${(nextIp++ % 250) + 1}`;

/** Registers and logs in from an address of its own, so the auth limit of other tests is untouched. */
async function signIn(server: Server): Promise<{ id: number; access: string }> {
    const email = `rl-${randomUUID().slice(0, 8)}@example.com`;
    const remoteAddress = freshIp();
    const reg = await server.inject({ method: 'POST', url: '/api/auth/register/', payload: { email, password: PASSWORD }, remoteAddress });
    const login = await server.inject({ method: 'POST', url: '/api/auth/login/', payload: { email, password: PASSWORD }, remoteAddress });
    assert.equal(login.statusCode, 200, login.payload);
    return { id: (reg.result as { id: number }).id, access: (login.result as { access: string }).access };
}

const me = (server: Server, access: string) => server.inject({ url: '/api/auth/me/', headers: { authorization: `Bearer ${access}` } });
const refresh = (server: Server, remoteAddress: string) => server.inject({ method: 'POST', url: '/api/auth/refresh/', payload: { refresh: 'not-a-token' }, remoteAddress });
const badLogin = (server: Server, remoteAddress: string) => server.inject({ method: 'POST', url: '/api/auth/login/', payload: { email: 'nobody@example.com', password: 'wrong password' }, remoteAddress });
const header = (res: { headers: Record<string, unknown> }, name: string) => res.headers[name] === undefined ? undefined : Number(res.headers[name]);

describe('rate limits', () => {
    let database: TestDatabase;
    let t: TestServer;
    let strict: TestServer;
    before(async () => {
        database = await createTestDatabase();
        t = await startTestServer({ database, env: { RATE_LIMIT_USER: '5', RATE_LIMIT_IP: '4', RATE_LIMIT_AUTH: '3' } });
        strict = await startTestServer({ database, env: { RATE_LIMIT_USER: '4', RATE_LIMIT_IP: '1000', RATE_LIMIT_AUTH: '10' } });
    });
    after(async () => {
        await t.stop();
        await strict.stop();
        await database.drop();
    });

    it('counts requests per user, with X-RateLimit headers, and answers 429 with Retry-After past the limit', async () => {
        const user = await signIn(t.server);
        for (let i = 1; i <= 5; ++i) {
            const res = await me(t.server, user.access);
            assert.equal(res.statusCode, 200);
            assert.equal(header(res, 'x-ratelimit-limit'), 5);
            assert.equal(header(res, 'x-ratelimit-remaining'), 5 - i);
            const reset = header(res, 'x-ratelimit-reset')!;
            assert.ok(reset >= Date.now() / 1000 && reset <= Date.now() / 1000 + 61, `reset ${reset} is epoch seconds within the minute`);
        }

        const limited = await me(t.server, user.access);
        assert.equal(limited.statusCode, 429);
        assert.equal(header(limited, 'x-ratelimit-remaining'), 0);
        const retry = header(limited, 'retry-after')!;
        assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);

        const other = await signIn(t.server);
        assert.equal((await me(t.server, other.access)).statusCode, 200, 'another user has a count of their own');
    });

    it('counts anonymous requests per IP', async () => {
        const ip = freshIp();
        for (let i = 1; i <= 4; ++i) {
            const res = await refresh(t.server, ip);
            assert.equal(res.statusCode, 401);
            assert.equal(header(res, 'x-ratelimit-limit'), 4);
            assert.equal(header(res, 'x-ratelimit-remaining'), 4 - i);
        }

        const limited = await refresh(t.server, ip);
        assert.equal(limited.statusCode, 429);
        assert.ok(header(limited, 'retry-after')! >= 1);
        assert.equal((await t.server.inject({ method: 'POST', url: '/api/auth/refresh/', payload: { refresh: 'x' }, remoteAddress: freshIp() })).statusCode, 401);
    });

    it('limits login and register to RATE_LIMIT_AUTH a minute per IP', async () => {
        const ip = freshIp();
        for (let i = 1; i <= 3; ++i) {
            const res = await badLogin(t.server, ip);
            assert.equal(res.statusCode, 401);
            assert.equal(header(res, 'x-ratelimit-limit'), 3);
            assert.equal(header(res, 'x-ratelimit-remaining'), 3 - i);
        }

        const register = await t.server.inject({ method: 'POST', url: '/api/auth/register/', payload: { email: 'late@example.com', password: PASSWORD }, remoteAddress: ip });
        assert.equal(register.statusCode, 429);
        assert.equal(header(register, 'x-ratelimit-limit'), 3);
        assert.ok(header(register, 'retry-after')! >= 1);
    });

    it('does not limit /healthz, /readyz, /metrics or /swagger*', async () => {
        const ip = freshIp();
        for (const url of ['/healthz', '/readyz', '/metrics', '/swagger', '/swagger/', '/swagger.json', '/swaggerui/swagger-ui.css']) {
            for (let i = 0; i < 6; ++i) {
                const res = await t.server.inject({ url, remoteAddress: ip });
                assert.ok(res.statusCode < 400, `${url}: ${res.statusCode}`);
                assert.equal(res.headers['x-ratelimit-limit'], undefined, url);
            }
        }

        const api = await t.server.inject({ method: 'POST', url: '/api/auth/refresh/', payload: { refresh: 'x' }, remoteAddress: ip });
        assert.equal(header(api, 'x-ratelimit-remaining'), 3, 'none of those requests counted');
    });

    it('holds the auth limit exactly under concurrency: 50 logins against a limit of 10 let 10 through', async () => {
        const ip = freshIp();
        const results = await Promise.all(Array.from({ length: 50 }, () => badLogin(strict.server, ip)));
        const passed = results.filter((res) => res.statusCode !== 429);
        assert.equal(passed.length, 10);
        assert.ok(passed.every((res) => res.statusCode === 401));
    });

    it('holds the per-user limit exactly under concurrency: 20 concurrent requests against a limit of 4 let 4 through', async () => {
        const user = await signIn(strict.server);
        const results = await Promise.all(Array.from({ length: 20 }, () => me(strict.server, user.access)));
        const passed = results.filter((res) => res.statusCode === 200);
        assert.equal(passed.length, 4);
        assert.ok(results.every((res) => res.statusCode === 200 || res.statusCode === 429));
        assert.deepEqual(passed.map((res) => header(res, 'x-ratelimit-remaining')).sort(), [0, 1, 2, 3], 'each passed request had a count of its own');
        const next = await me(strict.server, user.access);
        assert.equal(next.statusCode, 429, 'the whole burst was counted');
        assert.equal(header(next, 'x-ratelimit-remaining'), 0);
    });

    it('holds the per-IP limit of anonymous requests exactly under concurrency', async () => {
        const ip = freshIp();
        const results = await Promise.all(Array.from({ length: 20 }, () => refresh(t.server, ip)));
        assert.equal(results.filter((res) => res.statusCode !== 429).length, 4);
        assert.ok(results.every((res) => res.statusCode === 401 || res.statusCode === 429));
        assert.equal((await refresh(t.server, ip)).statusCode, 429);
    });
});

describe('rate limits behind a reverse proxy', () => {
    let t: TestServer;
    before(async () => {
        t = await startTestServer({ env: { RATE_LIMIT_AUTH: '2', TRUSTED_PROXIES: '10.20.0.0/16, 10.30.0.1' } });
    });
    after(async () => {
        await t.stop();
    });

    const login = (remoteAddress: string, forwardedFor?: string) => t.server.inject({
        method: 'POST', url: '/api/auth/login/', remoteAddress,
        payload: { email: 'nobody@example.com', password: 'wrong password' },
        headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }
    }).then((res) => res.statusCode);

    it('counts each client behind a trusted proxy by its X-Forwarded-For address', async () => {
        assert.deepEqual([await login('10.20.0.5', '198.51.100.1'), await login('10.20.0.5', '198.51.100.1'), await login('10.20.0.5', '198.51.100.1')], [401, 401, 429]);
        // Another client through the same proxy, and through a second proxy in the chain, has a count of its own.
        assert.equal(await login('10.20.0.5', '198.51.100.2'), 401);
        assert.equal(await login('10.30.0.1', '198.51.100.3, 10.20.0.9'), 401);
        assert.equal(await login('10.30.0.1', '198.51.100.3, 10.20.0.9'), 401);
        assert.equal(await login('10.30.0.1', '198.51.100.3, 10.20.0.9'), 429);
    });

    it('never believes what a client wrote itself: only the hop the proxy appended counts', async () => {
        // The client sent "X-Forwarded-For: <random>"; the proxy appended the real address after it.
        const statuses = [];
        for (let i = 0; i < 3; i++) {
            statuses.push(await login('10.20.0.5', `203.0.113.${i}, 198.51.100.4`));
        }

        assert.deepEqual(statuses, [401, 401, 429]);
    });

    it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
        const statuses = [];
        for (let i = 0; i < 3; i++) {
            statuses.push(await login('192.0.2.7', `198.51.100.${50 + i}`));
        }

        assert.deepEqual(statuses, [401, 401, 429]);
    });

    it('counts the proxy itself when its header is missing or not an address', async () => {
        assert.deepEqual([await login('10.20.0.77'), await login('10.20.0.77', 'not-an-ip'), await login('10.20.0.77', '')], [401, 401, 429]);
    });
});

describe('rate limits across instances', () => {
    const prefix = testPrefix();
    const env = { REDIS_PREFIX: prefix, JWT_SECRET: randomBytes(32).toString('hex'), RATE_LIMIT_USER: '4', RATE_LIMIT_IP: '4', RATE_LIMIT_AUTH: '3' };
    let a: TestServer;
    let b: TestServer;
    before(async () => {
        a = await startTestServer({ env });
        b = await startTestServer({ env, database: a.database });
    });
    after(async () => {
        await b.stop();
        await a.stop();
    });

    it('shares the per-user count between two servers on the same Redis prefix', async () => {
        const user = await signIn(a.server);
        const statuses = [];
        for (let i = 0; i < 6; ++i) {
            statuses.push((await me(i % 2 ? b.server : a.server, user.access)).statusCode);
        }

        assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    });

    it('shares the auth count between two servers', async () => {
        const ip = freshIp();
        const statuses = [await badLogin(a.server, ip), await badLogin(b.server, ip), await badLogin(a.server, ip), await badLogin(b.server, ip)].map((res) => res.statusCode);
        assert.deepEqual(statuses, [401, 401, 401, 429]);
    });

    it('holds the per-user limit exactly across two servers: 20 concurrent requests against a limit of 4 let 4 through', async () => {
        const user = await signIn(a.server);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => me(i % 2 ? b.server : a.server, user.access)));
        assert.equal(results.filter((res) => res.statusCode === 200).length, 4);
        assert.ok(results.every((res) => res.statusCode === 200 || res.statusCode === 429));
        assert.equal((await me(b.server, user.access)).statusCode, 429);
        assert.equal((await me(a.server, user.access)).statusCode, 429);
    });

    it('holds the per-IP limit of anonymous requests exactly across two servers', async () => {
        const ip = freshIp();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => refresh(i % 2 ? b.server : a.server, ip)));
        assert.equal(results.filter((res) => res.statusCode !== 429).length, 4);
        assert.ok(results.every((res) => res.statusCode === 401 || res.statusCode === 429));
        assert.equal((await refresh(a.server, ip)).statusCode, 429);
    });

    it('keeps its counters under <REDIS_PREFIX>rate:', async () => {
        const redis = new Redis(REDIS_URL);
        try {
            const keys = await redis.keys(`${prefix}rate:*`);
            assert.ok(keys.some((key) => key.startsWith(`${prefix}rate:user:`)), keys.join());
            assert.ok(keys.some((key) => key.startsWith(`${prefix}rate:ip:`)), keys.join());
            assert.ok(keys.some((key) => key.startsWith(`${prefix}rate:auth:`)), keys.join());
            for (const key of keys) {
                const ttl = await redis.pttl(key);
                assert.ok(ttl > 0 && ttl <= 60_000, `${key} expires with its window (${ttl} ms)`);
            }
        }
        finally {
            redis.disconnect();
        }
    });
});

describe('rate limits when Redis is down', () => {
    const logs: string[] = [];
    const said = (message: string) => logs.filter((line) => (JSON.parse(line) as { msg?: string }).msg === message).length;
    const DOWN = 'rate limits: Redis is not answering, requests are not limited';
    const BACK = 'rate limits: Redis answers again';
    let redis: RedisServer;
    let t: TestServer;
    let hung: TestUser;
    before(async () => {
        redis = await RedisServer.reserve();
        const stream = new Writable({ write: (chunk, _encoding, done) => (logs.push(String(chunk)), done()) });
        t = await startTestServer({ env: { REDIS_URL: redis.url, RATE_LIMIT_USER: '1', RATE_LIMIT_IP: '1', RATE_LIMIT_AUTH: '1' }, logger: pino(loggerOptions('info', 'collab-test'), stream) });
        hung = await t.user('hung');        // while the limits are open: RATE_LIMIT_AUTH would refuse its login later
    });
    after(async () => {
        redis.resume();
        await redis.start();            // the event bus closes its subscriber only once Redis answers
        await t.stop();
        await redis.stop();
    });

    it('lets requests through unlimited (fails open)', async () => {
        const user = await t.user('open');
        for (let i = 0; i < 3; ++i) {
            assert.equal((await me(t.server, user.access)).statusCode, 200);
            assert.equal((await badLogin(t.server, '127.0.0.1')).statusCode, 401);
        }

        assert.equal((await t.server.inject('/readyz')).statusCode, 503);
        assert.equal(said(DOWN), 1, 'the outage is logged once, not per request');
    });

    it('limits again once Redis is back', async () => {
        const user = await t.user('back');
        await redis.start();
        await until(async () => (await me(t.server, user.access)).statusCode === 429, 15_000, 'the per-user limit');
        await until(async () => (await badLogin(t.server, '10.8.0.1')).statusCode === 429, 15_000, 'the auth limit');
        assert.equal(said(BACK), 1);
        assert.equal(said(DOWN), 1);
    });

    it('lets requests through, after a short wait, when Redis hangs with its connections open', async () => {
        const user = hung;
        await until(async () => (await me(t.server, user.access)).statusCode === 429, 15_000, 'the per-user limit');
        redis.pause();
        try {
            const started = Date.now();
            assert.equal((await me(t.server, user.access)).statusCode, 200);
            assert.ok(Date.now() - started < COUNTER_TIMEOUT_MS + 1_000, `answered after ${Date.now() - started} ms`);
        }
        finally {
            redis.resume();
        }

        await until(async () => (await me(t.server, user.access)).statusCode === 429, 15_000, 'the per-user limit again');
    });
});

describe('rate limits and sockets', () => {
    let t: TestServer;
    before(async () => {
        t = await startTestServer({ listen: true, env: { RATE_LIMIT_USER: '3', RATE_LIMIT_IP: '1000', RATE_LIMIT_AUTH: '1000' } });
    });
    after(() => t.stop());

    it('does not count nes sockets\' authentication against the user\'s requests (WS_* limits sockets)', async () => {
        const user = await signIn(t.server);
        const clients = await Promise.all(Array.from({ length: 5 }, () => nesClient(Number(t.server.info.port), user.access)));
        try {
            for (let i = 1; i <= 3; ++i) {
                const res = await me(t.server, user.access);
                assert.equal(res.statusCode, 200);
                assert.equal(header(res, 'x-ratelimit-remaining'), 3 - i);
            }

            assert.equal((await me(t.server, user.access)).statusCode, 429);
            // A socket still opens once the user's requests are limited.
            clients.push(await nesClient(Number(t.server.info.port), user.access));
        }
        finally {
            await Promise.all(clients.map((client) => client.disconnect()));
        }
    });
});
