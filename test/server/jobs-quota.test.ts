import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { jobKeys, JOB_QUEUE_NAME } from '@collab/core';
import { Queue } from 'bullmq';

import { REDIS_URL } from '../helpers/config.js';
import { advertiseFakeWorker, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

/** DESIGN §4 Jobs: at most JOBS_MAX_ACTIVE_PER_USER (default 20) queued or running jobs per user; the next submit is 429 with Retry-After. */
describe('per-user job quota', () => {
    let t: TestServer;
    let queue: Queue;
    const hello = { code: 'print(1)', language: 'python' };

    const submit = (user: TestUser, payload: unknown = hello, headers?: Record<string, string>) => t.call('POST', '/api/jobs/submit/', { token: user.access, payload, headers });
    const rows = async (user: TestUser) => Number((await t.database.db('jobs').where({ user_id: user.id }).count({ n: '*' }).first())!.n);
    const queued = async () => (await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active'])).map((job) => job.id).sort();
    const queuedRows = async () => (await t.database.db('jobs').select('id').where({ status: 'queued' })).map((row: { id: string }) => row.id).sort();

    async function fill(user: TestUser, count: number): Promise<string[]> {
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
            const res = await submit(user, { ...hello, code: `print(${i})` });
            assert.equal(res.statusCode, 202, res.payload);
            ids.push((res.result as { job_id: string }).job_id);
        }

        return ids;
    }

    before(async () => {
        t = await startTestServer();
        assert.equal(t.config.jobsMaxActivePerUser, 20);
        queue = new Queue(JOB_QUEUE_NAME, { connection: { url: REDIS_URL }, prefix: jobKeys(t.config.redisPrefix).bullPrefix });
        await advertiseFakeWorker(t, { python: '3' });
    });

    after(async () => {
        await queue.close();
        await t.stop();
    });

    it('answers the 21st active job 429 with Retry-After, and enqueues nothing for it', async () => {
        const alice = await t.user('alice');
        await fill(alice, 20);
        const res = await submit(alice, { ...hello, code: 'print("one too many")' });
        assert.equal(res.statusCode, 429, res.payload);
        assert.match((res.result as { message: string }).message, /20 jobs queued or running/);
        // Only queued jobs: a default job's time limit, 10 s.
        assert.equal(res.headers['retry-after'], '10');
        assert.equal(await rows(alice), 20);
        assert.deepEqual(await queued(), await queuedRows(), 'every queued row, and only those, is on the queue');

        const bob = await t.user('bob');
        assert.equal((await submit(bob)).statusCode, 202, 'the quota is per user');
    });

    it('asks to retry when the first running job reaches its time limit', async () => {
        const carol = await t.user('carol');
        const [first] = await fill(carol, 20);
        await t.database.db('jobs').where({ id: first }).update({ status: 'running', started_at: t.database.db.raw('now() - interval \'2 seconds\''), timeout_ms: 5000 });
        const res = await submit(carol);
        assert.equal(res.statusCode, 429);
        assert.equal(res.headers['retry-after'], '3');
    });

    it('accepts a new submit once an active job is cancelled or ends', async () => {
        const dave = await t.user('dave');
        const [first, second] = await fill(dave, 20);
        assert.equal((await submit(dave)).statusCode, 429);

        const cancelled = await t.call('POST', `/api/jobs/${first}/cancel/`, { token: dave.access });
        assert.equal(cancelled.statusCode, 202);
        assert.equal((await submit(dave)).statusCode, 202);
        assert.equal((await submit(dave)).statusCode, 429);

        // A worker writing a result ends the job.
        await t.database.db('jobs').where({ id: second }).update({ status: 'succeeded', exit_code: 0, finished_at: t.database.db.fn.now() });
        assert.equal((await submit(dave)).statusCode, 202);
        assert.equal((await submit(dave)).statusCode, 429);
        assert.equal(await rows(dave), 22);
    });

    it('returns an existing job for its Idempotency-Key (200) even at the quota; a new key is 429', async () => {
        const erin = await t.user('erin');
        await fill(erin, 19);
        const keyed = await submit(erin, hello, { 'idempotency-key': 'k1' });
        assert.equal(keyed.statusCode, 202);
        const again = await submit(erin, hello, { 'idempotency-key': 'k1' });
        assert.equal(again.statusCode, 200, again.payload);
        assert.equal((again.result as { job_id: string }).job_id, (keyed.result as { job_id: string }).job_id);
        assert.equal((await submit(erin, hello, { 'idempotency-key': 'k1' })).statusCode, 200);
        assert.equal((await submit(erin, { ...hello, code: 'other' }, { 'idempotency-key': 'k1' })).statusCode, 409);
        assert.equal((await submit(erin, hello, { 'idempotency-key': 'k2' })).statusCode, 429);
        assert.equal(await rows(erin), 20);
    });

    it('never lets concurrent submits past the quota: 40 at once, exactly 20 accepted', async () => {
        const frank = await t.user('frank');
        const before = (await queued()).length;
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => submit(frank, { ...hello, code: `print(${i})` })));
        const codes = results.map((res) => res.statusCode);
        assert.equal(codes.filter((code) => code === 202).length, 20, codes.join(','));
        assert.equal(codes.filter((code) => code === 429).length, 20, codes.join(','));
        assert.ok(results.every((res) => res.statusCode !== 429 || Number(res.headers['retry-after']) >= 1));
        assert.equal(await rows(frank), 20);
        const onQueue = await queued();
        assert.equal(onQueue.length, before + 20, 'nothing of a refused submit reached the queue');
        const accepted = results.filter((res) => res.statusCode === 202).map((res) => (res.result as { job_id: string }).job_id);
        assert.ok(accepted.every((id) => onQueue.includes(id)));
    });
});
