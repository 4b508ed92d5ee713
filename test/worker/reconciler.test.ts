import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { bullJobOptions, createLogger, jobKeys, JOB_QUEUE_NAME, newJobId, PubSub, retryDelayMs } from '@collab/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { JobPublisher } from '../../packages/worker/src/publisher.js';
import { Reconciler, type ReconcilerOptions } from '../../packages/worker/src/reconciler.js';
import { claimJob, finishJob, requeueJob } from '../../packages/worker/src/store.js';
import { REDIS_URL, testPrefix } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cleanRedis } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const result = { exit_code: 0, stdout: 'x\n', stderr: '', truncated: false, duration_ms: 5, error: null };

describe('job store and reconciler', () => {
    let database: TestDatabase;
    let redis: Redis;
    let queue: Queue;
    let userId: number;
    const prefix = testPrefix();
    const logger = createLogger('silent', 'test');

    async function insertJob(fields: Record<string, unknown> = {}): Promise<string> {
        const id = newJobId();
        await database.db('jobs').insert({ id, user_id: userId, language: 'python', code: 'print(1)', timeout_ms: 1000, memory_mb: 64, ...fields });
        return id;
    }

    const row = (id: string) => database.db('jobs').where({ id }).first();
    const reconciler = (workerId: string, options: Partial<ReconcilerOptions> = {}) =>
        new Reconciler({
            db: database.db,
            redis,
            queue,
            prefix,
            workerId,
            publisher: new JobPublisher({ updates: new PubSub('shard', redis), prefix, logger }),
            logger,
            intervalMs: 60_000,
            queuedAgeMs: 1000,
            runningGraceMs: 1000,
            ...options
        });

    before(async () => {
        database = await createTestDatabase();
        [{ id: userId }] = await database.db('users').insert({ email: 'r@example.com', password_hash: 'x' }).returning('id');
        redis = new Redis(REDIS_URL);
        queue = new Queue(JOB_QUEUE_NAME, { connection: { url: REDIS_URL }, prefix: jobKeys(prefix).bullPrefix });
    });

    after(async () => {
        await queue.close();
        redis.disconnect();
        await cleanRedis(prefix);
        await database.drop();
    });

    it('lets only the latest claim write the result: one terminal status for two runs', async () => {
        const id = await insertJob();
        const first = await claimJob(database.db, id);
        const second = await claimJob(database.db, id);
        assert.equal(first?.attempts, 1);
        assert.equal(second?.attempts, 2);
        assert.equal(second?.user_email, 'r@example.com');
        assert.equal(await finishJob(database.db, id, 1, { ...result, status: 'failed' }), undefined, 'the superseded run cannot write');
        assert.equal((await finishJob(database.db, id, 2, { ...result, status: 'succeeded' }))?.status, 'succeeded');
        assert.equal(await finishJob(database.db, id, 2, { ...result, status: 'failed' }), undefined, 'a terminal status is final');
        assert.equal(await claimJob(database.db, id), undefined, 'a finished job is never run again');
        assert.equal(await requeueJob(database.db, id, 2), false);
        const final = await row(id);
        assert.equal(final.status, 'succeeded');
        assert.equal(final.attempts, 2);
    });

    it('turns a claim into cancelled when cancellation was requested', async () => {
        const id = await insertJob({ status: 'running', attempts: 1, cancel_requested_at: new Date() });
        const claimed = await claimJob(database.db, id);
        assert.equal(claimed?.status, 'cancelled');
        assert.equal(claimed?.attempts, 1, 'no run, no attempt');
        assert.equal((await row(id)).status, 'cancelled');
    });

    it('spreads retries with exponential backoff and jitter', () => {
        for (const [attempt, low, high] of [[1, 500, 1000], [2, 1000, 2000], [3, 2000, 4000]] as const) {
            assert.equal(retryDelayMs(attempt, () => 0), low);
            assert.equal(retryDelayMs(attempt, () => 1), high);
        }
        const samples = new Set(Array.from({ length: 20 }, () => retryDelayMs(2)));
        assert.ok(samples.size > 1, 'jittered');
    });

    it('enqueues queued jobs that Redis lost, once, and leaves fresh or enqueued ones alone', async () => {
        const lost = await insertJob({ created_at: database.db.raw('now() - interval \'10 seconds\'') });
        const fresh = await insertJob();
        const enqueued = await insertJob({ created_at: database.db.raw('now() - interval \'10 seconds\'') });
        await queue.add('run', { job_id: enqueued }, bullJobOptions(enqueued));
        const r = reconciler('w1');
        try {
            const report = await r.runOnce();
            assert.equal(report.leader, true);
            assert.deepEqual(report.enqueued, [lost]);
            assert.equal(await queue.getJobState(lost), 'waiting');
            assert.equal(await queue.getJobState(fresh), 'unknown');
            assert.deepEqual((await r.runOnce()).enqueued, [], 'a second pass adds nothing');
        }
        finally {
            await r.close();
            await queue.obliterate({ force: true });
        }
    });

    it('retries running jobs far past their deadline whose BullMQ job is gone, and fails them after 3 attempts', async () => {
        const late = database.db.raw('now() - interval \'10 seconds\'');
        const retry = await insertJob({ status: 'running', attempts: 1, started_at: late });
        const giveUp = await insertJob({ status: 'running', attempts: 3, started_at: late });
        const owned = await insertJob({ status: 'running', attempts: 1, started_at: late });
        const onTime = await insertJob({ status: 'running', attempts: 1, started_at: database.db.fn.now() });
        await queue.add('run', { job_id: owned }, bullJobOptions(owned));
        const r = reconciler('w1');
        try {
            const report = await r.runOnce();
            assert.deepEqual(report.requeued, [retry]);
            assert.deepEqual(report.failed, [giveUp]);
            assert.equal((await row(retry)).status, 'queued');
            assert.equal(await queue.getJobState(retry), 'waiting');
            const failed = await row(giveUp);
            assert.equal(failed.status, 'error');
            assert.match(failed.error, /lost after 3 attempts/);
            assert.ok(failed.finished_at);
            assert.equal((await row(owned)).status, 'running', 'BullMQ still owns it');
            assert.equal((await row(onTime)).status, 'running');
        }
        finally {
            await r.close();
            await queue.obliterate({ force: true });
        }
    });

    it('runs a pass every interval once started, and none after close', async () => {
        const r = reconciler('w1', { intervalMs: 100 });
        try {
            const first = await insertJob({ created_at: database.db.raw("now() - interval '10 seconds'") });
            r.start();
            await until(async () => (await queue.getJobState(first)) === 'waiting', 10_000, 'a pass to enqueue the lost job');
            await r.close();
            const second = await insertJob({ created_at: database.db.raw("now() - interval '10 seconds'") });
            await new Promise((resolve) => setTimeout(resolve, 500));
            assert.equal(await queue.getJobState(second), 'unknown', 'no pass after close');
            assert.equal(await redis.exists(jobKeys(prefix).reconcilerLock), 0, 'the lock is given up');
        }
        finally {
            await r.close();
            await queue.obliterate({ force: true });
        }
    });

    it('runs on one worker at a time (a Redis lock), and hands over when the leader stops', async () => {
        const one = reconciler('w1');
        const two = reconciler('w2');
        try {
            assert.equal((await one.runOnce()).leader, true);
            assert.equal((await two.runOnce()).leader, false);
            assert.equal((await one.runOnce()).leader, true, 'the leader keeps it');
            await one.close();
            assert.equal((await two.runOnce()).leader, true);
        }
        finally {
            await one.close();
            await two.close();
        }
    });
});
