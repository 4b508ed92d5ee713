import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CollabClient, CollabError, ConnectionError } from '@collab/sdk';

import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

interface Call {
    method: string;
    url: string;
    key: string | null;
}

/** A fetch that fails at the network boundary for the first `failures` calls, then reaches the real server. */
function flaky(failures: number, calls: Call[], fail: () => Promise<Response> = () => Promise.reject(new TypeError('fetch failed'))): typeof fetch {
    return async (input, init) => {
        const headers = new Headers(init?.headers);
        calls.push({ method: init?.method ?? 'GET', url: String(input), key: headers.get('idempotency-key') });
        return calls.length <= failures ? fail() : fetch(input, init);
    };
}

describe('retries', () => {
    let t: TestServer;
    let user: TestUser;
    const connect = (fetchImpl: typeof fetch, maxRetries?: number) => new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh, fetch: fetchImpl, maxRetries });

    before(async () => {
        t = await startTestServer({ listen: true });
        user = await t.user();
    });
    after(() => t.stop());

    it('retries a job submit after a network error with the same Idempotency-Key', async () => {
        const calls: Call[] = [];
        const outcome = await connect(flaky(1, calls)).jobs.submit({ code: 'print(1)', language: 'python' }).catch((err: unknown) => err);
        assert.ok(!(outcome instanceof ConnectionError), 'the retry reached the server');
        assert.equal(calls.length, 2);
        assert.match(calls[0]!.key ?? '', /^[0-9a-f-]{36}$/);
        assert.equal(calls[1]!.key, calls[0]!.key);
        assert.ok(outcome instanceof CollabError ? outcome.status >= 400 : typeof (outcome as { job_id?: unknown }).job_id === 'string');
    });

    it('sends the Idempotency-Key it is given, and a new one per submit otherwise', async () => {
        const calls: Call[] = [];
        const client = connect(flaky(0, calls));
        await client.jobs.submit({ code: '1', language: 'python' }, { idempotencyKey: 'my-key-1' }).catch(() => {});
        await client.jobs.submit({ code: '1', language: 'python' }).catch(() => {});
        await client.jobs.submit({ code: '1', language: 'python' }).catch(() => {});
        assert.equal(calls[0]!.key, 'my-key-1');
        assert.notEqual(calls[1]!.key, calls[2]!.key);
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
