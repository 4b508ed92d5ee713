import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CollabClient, ConnectionError } from '@collab/sdk';

import { advertiseFakeWorker, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

interface Call {
    method: string;
    url: string;
    key: string | null;
}

/** A fetch that fails at the network boundary for the first `failures` calls, then reaches the real server. */
function flaky(failures: number, calls: Call[], fail: typeof fetch = () => Promise.reject(new TypeError('fetch failed'))): typeof fetch {
    return async (input, init) => {
        const headers = new Headers(init?.headers);
        calls.push({ method: init?.method ?? 'GET', url: String(input), key: headers.get('idempotency-key') });
        return calls.length <= failures ? fail(input, init) : fetch(input, init);
    };
}

/** A request that reaches the server, whose response is lost on the way back. */
const responseLost: typeof fetch = async (input, init) => {
    await fetch(input, init);
    throw new TypeError('fetch failed');
};

describe('retries', () => {
    let t: TestServer;
    let user: TestUser;
    const connect = (fetchImpl: typeof fetch, maxRetries?: number) => new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh, fetch: fetchImpl, maxRetries });

    before(async () => {
        t = await startTestServer({ listen: true });
        // A live python worker (an advert only), so submits are accepted and stay queued.
        await advertiseFakeWorker(t, { python: '3' });
        user = await t.user();
    });
    after(() => t.stop());

    it('retries a job submit whose response was lost with the same Idempotency-Key, and gets the one job it queued', async () => {
        const calls: Call[] = [];
        const job = await connect(flaky(1, calls, responseLost)).jobs.submit({ code: 'print("once")', language: 'python' });
        assert.equal(calls.length, 2);
        assert.match(calls[0]!.key ?? '', /^[0-9a-f-]{36}$/);
        assert.equal(calls[1]!.key, calls[0]!.key);
        const queued = await t.database.db('jobs').where({ user_id: user.id, code: 'print("once")' }).select('id', 'idempotency_key');
        assert.deepEqual(queued, [{ id: job.job_id, idempotency_key: calls[0]!.key }], 'the retry answered with the job the lost request queued');
    });

    it('sends the Idempotency-Key it is given, and a new one per submit otherwise', async () => {
        const calls: Call[] = [];
        const client = connect(flaky(0, calls));
        const given = await client.jobs.submit({ code: '1', language: 'python' }, { idempotencyKey: 'my-key-1' });
        const first = await client.jobs.submit({ code: '1', language: 'python' });
        const second = await client.jobs.submit({ code: '1', language: 'python' });
        assert.equal(calls[0]!.key, 'my-key-1');
        assert.notEqual(calls[1]!.key, calls[2]!.key);
        assert.equal(new Set([given.job_id, first.job_id, second.job_id]).size, 3, 'three submits, three jobs');
    });

    it('retries GET, PUT and DELETE after network errors', async () => {
        const setup = connect(fetch);
        const project = await setup.projects.create({ name: 'retry' });
        const ws = await setup.workspaces.create(project.id, { name: 'w' });

        const calls: Call[] = [];
        assert.equal((await connect(flaky(2, calls)).projects.get(project.id)).id, project.id);
        assert.equal(calls.length, 3);
        calls.length = 0;
        assert.deepEqual(await connect(flaky(1, calls)).files.put(ws.id, 'a.txt', { content: 'x' }), { path: 'a.txt', revision: 1 });
        assert.deepEqual(calls.map((c) => c.method), ['PUT', 'PUT']);
        calls.length = 0;
        await connect(flaky(1, calls)).files.delete(ws.id, 'a.txt');
        assert.deepEqual(calls.map((c) => c.method), ['DELETE', 'DELETE']);
    });

    it('never retries a POST without an Idempotency-Key', async () => {
        const calls: Call[] = [];
        await assert.rejects(connect(flaky(1, calls)).projects.create({ name: 'once' }), ConnectionError);
        assert.equal(calls.length, 1);
        assert.equal((await connect(fetch).projects.list().toArray()).filter((p) => p.name === 'once').length, 0);
    });

    it('retries 503 and 429, waiting out Retry-After', async () => {
        const calls: Call[] = [];
        const busy = () => Promise.resolve(new Response('{"statusCode":503,"error":"Service Unavailable","message":"busy"}', { status: 503, headers: { 'content-type': 'application/json', 'retry-after': '1' } }));
        const started = Date.now();
        assert.equal((await connect(flaky(1, calls, busy)).auth.me()).id, user.id);
        assert.ok(Date.now() - started >= 1000, 'waited for Retry-After');

        const limited = () => Promise.resolve(new Response('{"statusCode":429,"error":"Too Many Requests","message":"slow down"}', { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '0' } }));
        calls.length = 0;
        assert.equal((await connect(flaky(2, calls, limited)).auth.me()).id, user.id);
        assert.equal(calls.length, 3);
    });

    it('gives up after maxRetries', async () => {
        const calls: Call[] = [];
        await assert.rejects(connect(flaky(100, calls), 3).auth.me(), ConnectionError);
        assert.equal(calls.length, 4);
        calls.length = 0;
        await assert.rejects(connect(flaky(100, calls), 0).auth.me(), ConnectionError);
        assert.equal(calls.length, 1);
    });

    it('stops waiting when the signal aborts', async () => {
        const calls: Call[] = [];
        const busy = () => Promise.resolve(new Response('{}', { status: 503, headers: { 'content-type': 'application/json', 'retry-after': '30' } }));
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 50);
        await assert.rejects(connect(flaky(100, calls, busy)).auth.me({ signal: controller.signal }), { name: 'AbortError' });
        assert.equal(calls.length, 1);
    });
});
