import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { jobKeys, JOB_QUEUE_NAME, withdrawWorker } from '@collab/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { cancelQueuedJobsOf } from '../../packages/server/src/jobs/cancel.js';
import { REDIS_URL } from '../helpers/config.js';
import { nextPath } from '../helpers/link.js';
import { advertiseFakeWorker, FAKE_WORKER_ID, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

/** Jobs API without a worker: a fake advert makes python and bash "live", so jobs stay queued. */
describe('jobs API (queue side)', () => {
    let t: TestServer;
    let redis: Redis;
    let queue: Queue;
    let alice: TestUser;
    let bob: TestUser;
    const hello = { code: 'print("Hello World")', language: 'python' };

    const advertise = () => advertiseFakeWorker(t, { bash: '5.2', python: '3.11.2' });
    const submit = (user: TestUser, payload: unknown, headers?: Record<string, string>) => t.call('POST', '/api/jobs/submit/', { token: user.access, payload, headers });
    const get = (user: TestUser, id: string) => t.call('GET', `/api/jobs/${id}/`, { token: user.access });
    const bullState = (id: string) => queue.getJobState(id);

    async function workspaceWith(roles: Record<string, TestUser>): Promise<number> {
        const db = t.database.db;
        const [project] = await db('projects').insert({ name: `p-${randomUUID().slice(0, 6)}` }).returning('id');
        for (const [role, user] of Object.entries(roles)) {
            await db('memberships').insert({ project_id: project.id, user_id: user.id, role });
        }

        const [workspace] = await db('workspaces').insert({ project_id: project.id, name: 'w' }).returning('id');
        return workspace.id;
    }

    before(async () => {
        t = await startTestServer();
        redis = new Redis(REDIS_URL);
        queue = new Queue(JOB_QUEUE_NAME, { connection: { url: REDIS_URL }, prefix: jobKeys(t.config.redisPrefix).bullPrefix });
        alice = await t.user('alice');
        bob = await t.user('bob');
    });

    after(async () => {
        await queue.close();
        redis.disconnect();
        await t.stop();
    });

    it('lists no language and refuses submits while no worker is live', async () => {
        const languages = await t.call('GET', '/api/jobs/languages/', { token: alice.access });
        assert.equal(languages.statusCode, 200);
        assert.deepEqual(languages.result, []);

        const res = await submit(alice, hello);
        assert.equal(res.statusCode, 400);
        assert.equal((res.result as { field: string }).field, 'language');
        assert.match((res.result as { message: string }).message, /no worker is running \(available: none\)/);
        assert.equal(await t.database.db('jobs').count({ n: '*' }).first().then((r) => Number(r!.n)), 0);
    });

    it('lists the languages of live workers only', async () => {
        await advertise();
        const res = await t.call('GET', '/api/jobs/languages', { token: alice.access });
        assert.deepEqual(res.result, [{ language: 'bash', version: '5.2' }, { language: 'python', version: '3.11.2' }]);

        await withdrawWorker(redis, t.config.redisPrefix, FAKE_WORKER_ID);
        assert.deepEqual((await t.call('GET', '/api/jobs/languages/', { token: alice.access })).result, []);
        await advertise();
    });

    it('answers a submit with 202, commits the row and enqueues only the job id', async () => {
        await advertise();
        const res = await submit(alice, hello);
        assert.equal(res.statusCode, 202);
        const body = res.result as { message: string; job_id: string; status: string };
        assert.deepEqual(Object.keys(body).sort(), ['job_id', 'message', 'status']);
        assert.equal(body.message, 'Job queued');
        assert.equal(body.status, 'queued');
        assert.match(body.job_id, /^job_[\w-]{16}$/);

        const row = await t.database.db('jobs').where({ id: body.job_id }).first();
        assert.equal(row.status, 'queued');
        assert.equal(row.timeout_ms, 10_000);
        assert.equal(row.memory_mb, 256);
        const bull = await queue.getJob(body.job_id);
        assert.deepEqual(bull?.data, { job_id: body.job_id });
        assert.equal(bull?.opts.attempts, 3);

        const job = await get(alice, body.job_id);
        assert.equal(job.statusCode, 200);
        assert.deepEqual(job.result, {
            job_id: body.job_id, status: 'queued', language: 'python', workspace_id: null, attempts: 0, exit_code: null,
            stdout: '', stderr: '', truncated: false, duration_ms: null, created_at: (job.result as { created_at: string }).created_at,
            started_at: null, finished_at: null, error: null
        });
    });

    it('validates every field and names it', async () => {
        await advertise();
        const big = 'x'.repeat(64 * 1024 + 1);
        const cases: Array<[Record<string, unknown>, number, string]> = [
            [{ language: 'python' }, 400, 'code'],
            [{ ...hello, code: 5 }, 400, 'code'],
            [{ ...hello, code: `#${big}` }, 413, 'code'],
            [{ ...hello, code: 'é'.repeat(32 * 1024 + 1) }, 413, 'code'],
            [{ ...hello, stdin: big }, 413, 'stdin'],
            [{ ...hello, language: 'cobol' }, 400, 'language'],
            [{ code: 'x' }, 400, 'language'],
            [{ ...hello, timeout_ms: 60_001 }, 400, 'timeout_ms'],
            [{ ...hello, timeout_ms: 0 }, 400, 'timeout_ms'],
            [{ ...hello, timeout_ms: 1.5 }, 400, 'timeout_ms'],
            [{ ...hello, memory_mb: 1025 }, 400, 'memory_mb'],
            [{ ...hello, memory_mb: 'lots' }, 400, 'memory_mb'],
            [{ ...hello, workspace_id: 'w' }, 400, 'workspace_id'],
            [{ ...hello, extra: 1 }, 400, 'extra']
        ];
        for (const [payload, status, field] of cases) {
            const res = await submit(alice, payload);
            assert.equal(res.statusCode, status, `${JSON.stringify(payload).slice(0, 80)} → ${res.payload}`);
            assert.equal((res.result as { field?: string }).field, field);
            assert.match((res.result as { message: string }).message, new RegExp(field));
        }

        const listed = await submit(alice, { ...hello, language: 'cobol' });
        assert.match((listed.result as { message: string }).message, /live workers run: bash, python/);
        const edge = await submit(alice, { ...hello, code: `#${'x'.repeat(64 * 1024 - 1)}`, stdin: 'y'.repeat(64 * 1024), timeout_ms: 60_000, memory_mb: 1024 });
        assert.equal(edge.statusCode, 202, 'exactly 64 KiB and the maximum limits are accepted');
    });

    it('checks the workspace: 404 for a non-member, 403 for a viewer, 202 for a collaborator', async () => {
        await advertise();
        const carol = await t.user('carol');
        const workspace = await workspaceWith({ owner: alice, viewer: bob, collaborator: carol });
        const outsider = await t.user('outsider');

        assert.equal((await submit(outsider, { ...hello, workspace_id: workspace })).statusCode, 404);
        assert.equal((await submit(alice, { ...hello, workspace_id: 999_999 })).statusCode, 404);
        const viewer = await submit(bob, { ...hello, workspace_id: workspace });
        assert.equal(viewer.statusCode, 403);
        assert.match((viewer.result as { message: string }).message, /viewer/);

        const ok = await submit(carol, { ...hello, workspace_id: workspace });
        assert.equal(ok.statusCode, 202);
        const id = (ok.result as { job_id: string }).job_id;
        for (const member of [alice, bob, carol]) {
            const res = await get(member, id);
            assert.equal(res.statusCode, 200, 'every member of the workspace can read it');
            assert.equal((res.result as { workspace_id: number }).workspace_id, workspace);
        }

        assert.equal((await get(outsider, id)).statusCode, 404);
        assert.equal((await t.call('POST', `/api/jobs/${id}/cancel/`, { token: alice.access })).statusCode, 403, 'only the submitter cancels');
    });

    it('hides other users\' jobs with 404, and unknown or malformed ids too', async () => {
        await advertise();
        const id = ((await submit(alice, hello)).result as { job_id: string }).job_id;
        assert.equal((await get(bob, id)).statusCode, 404);
        assert.equal((await t.call('POST', `/api/jobs/${id}/cancel/`, { token: bob.access })).statusCode, 404);
        assert.equal((await get(alice, 'job_doesnotexist00')).statusCode, 404);
        assert.equal((await get(alice, 'not-a-job-id')).statusCode, 404);
        assert.equal((await t.call('GET', `/api/jobs/${id}/`)).statusCode, 401);
    });

    it('returns the same job for the same Idempotency-Key and body, 409 for another body', async () => {
        await advertise();
        const key = { 'idempotency-key': randomUUID() };
        const first = await submit(alice, hello, key);
        assert.equal(first.statusCode, 202);
        const again = await submit(alice, { ...hello, timeout_ms: 10_000 }, key);
        assert.equal(again.statusCode, 200, 'defaults applied: the same body');
        assert.equal((again.result as { job_id: string }).job_id, (first.result as { job_id: string }).job_id);

        const other = await submit(alice, { ...hello, code: 'print(2)' }, key);
        assert.equal(other.statusCode, 409);
        const otherUser = await submit(bob, hello, key);
        assert.equal(otherUser.statusCode, 202, 'keys are per user');
        assert.notEqual((otherUser.result as { job_id: string }).job_id, (first.result as { job_id: string }).job_id);
    });

    it('resolves concurrent submits with one Idempotency-Key to one job', async () => {
        await advertise();
        const key = { 'idempotency-key': randomUUID() };
        const answers = await Promise.all(Array.from({ length: 8 }, () => submit(alice, { ...hello, code: 'print("race")' }, key)));
        const ids = new Set(answers.map((res) => (res.result as { job_id: string }).job_id));
        assert.equal(ids.size, 1);
        assert.deepEqual(answers.map((res) => res.statusCode).sort(), [200, 200, 200, 200, 200, 200, 200, 202]);
        assert.equal(Number((await t.database.db('jobs').where({ idempotency_key: key['idempotency-key'] }).count({ n: '*' }))[0]!.n), 1);
    });

    it('reuses a key whose job is older than 24 hours', async () => {
        await advertise();
        const key = { 'idempotency-key': randomUUID() };
        const first = (await submit(alice, hello, key)).result as { job_id: string };
        await t.database.db('jobs').where({ id: first.job_id }).update({ created_at: t.database.db.raw('now() - interval \'25 hours\'') });
        const second = await submit(alice, { ...hello, code: 'print(3)' }, key);
        assert.equal(second.statusCode, 202);
        assert.notEqual((second.result as { job_id: string }).job_id, first.job_id);
    });

    it('cancels a queued job at once and removes it from the queue; a second cancel is 409', async () => {
        await advertise();
        const id = ((await submit(alice, hello)).result as { job_id: string }).job_id;
        assert.equal(await bullState(id), 'waiting');
        const res = await t.call('POST', `/api/jobs/${id}/cancel/`, { token: alice.access });
        assert.equal(res.statusCode, 202);
        assert.deepEqual(res.result, { job_id: id, status: 'cancelled', message: 'Job cancelled' });
        const job = (await get(alice, id)).result as { status: string; finished_at: string | null };
        assert.equal(job.status, 'cancelled');
        assert.ok(job.finished_at);
        assert.equal(await bullState(id), 'unknown');
        assert.equal((await t.call('POST', `/api/jobs/${id}/cancel`, { token: alice.access })).statusCode, 409);
    });

    it('lists the caller\'s jobs newest first, filtered and paginated', async () => {
        await advertise();
        const dave = await t.user('dave');
        const workspace = await workspaceWith({ owner: dave });
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
            const res = await submit(dave, { ...hello, code: `print(${i})`, workspace_id: i % 2 ? workspace : undefined });
            ids.push((res.result as { job_id: string }).job_id);
        }

        await t.call('POST', `/api/jobs/${ids[0]}/cancel/`, { token: dave.access });
        const seen: string[] = [];
        let url: string | undefined = '/api/jobs/?limit=2';
        while (url) {
            const res = await t.call('GET', url, { token: dave.access });
            assert.equal(res.statusCode, 200);
            seen.push(...(res.result as Array<{ job_id: string }>).map((job) => job.job_id));
            url = nextPath(res.headers.link);
        }

        assert.deepEqual(seen, [...ids].reverse());
        const cancelled = (await t.call('GET', '/api/jobs/?status=cancelled', { token: dave.access })).result as Array<{ job_id: string }>;
        assert.deepEqual(cancelled.map((job) => job.job_id), [ids[0]]);
        const inWorkspace = (await t.call('GET', `/api/jobs/?workspace_id=${workspace}`, { token: dave.access })).result as Array<{ job_id: string }>;
        assert.deepEqual(inWorkspace.map((job) => job.job_id), [ids[3], ids[1]]);
        assert.equal((await t.call('GET', '/api/jobs/?status=nonsense', { token: dave.access })).statusCode, 400);
        assert.equal((await t.call('GET', '/api/jobs/?cursor=%%%', { token: dave.access })).statusCode, 400);
    });

    it('re-queues a job that ended in error for an admin retry, and only such a job', async () => {
        await advertise();
        const producer = t.server.plugins['collab-jobs'].producer;
        const id = ((await submit(alice, hello)).result as { job_id: string }).job_id;
        await queue.remove(id);
        await t.database.db('jobs').where({ id }).update({ status: 'error', attempts: 3, error: 'boom', finished_at: t.database.db.fn.now() });
        const retried = await producer.retry(t.database.db, id);
        assert.ok(retried && retried !== 'conflict');
        const job = (await get(alice, id)).result as { status: string; error: string | null; finished_at: string | null; attempts: number };
        assert.deepEqual([job.status, job.error, job.finished_at, job.attempts], ['queued', null, null, 3]);
        assert.equal(await bullState(id), 'waiting');
        assert.equal(await producer.retry(t.database.db, id), 'conflict');
        assert.equal(await producer.retry(t.database.db, 'job_doesnotexist00'), undefined);
    });

    it('cancels every queued job of a user (account deactivation)', async () => {
        await advertise();
        const erin = await t.user('erin');
        const ids = await Promise.all([1, 2].map(async () => ((await submit(erin, hello)).result as { job_id: string }).job_id));
        assert.deepEqual((await cancelQueuedJobsOf(t.server, erin.id)).sort(), [...ids].sort());
        for (const id of ids) {
            assert.equal(((await get(erin, id)).result as { status: string }).status, 'cancelled');
            assert.equal(await bullState(id), 'unknown');
        }
        assert.deepEqual(await cancelQueuedJobsOf(t.server, erin.id), []);
    });
});
