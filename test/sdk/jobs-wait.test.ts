import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createLogger, newJobId, PubSub } from '@collab/core';
import { CollabClient, NotFoundError, type Job, type JobOutputChunk, type JobStatus } from '@collab/sdk';
import { startWorker, type WorkerHandle } from '@collab/worker';
import { Redis } from 'ioredis';

import { JobPublisher } from '../../packages/worker/src/publisher.js';
import { failJob, JOB_ERRORS } from '../../packages/worker/src/store.js';
import { REDIS_URL } from '../helpers/config.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { gate } from './gated-websocket.js';

/** `jobs.wait()` against a real worker and its sandbox. */
describe('client.jobs.wait()', { timeout: 120_000 }, () => {
    let t: TestServer;
    let worker: WorkerHandle;
    let user: TestUser;
    let client: CollabClient;
    /** GETs of each job the server received, over HTTP or the socket. */
    const reads = new Map<string, number>();
    /** The job as GET answers it, as it comes over the wire (not counted: read after the wait). */
    const read = async (id: string): Promise<Job> => {
        const before = reads.get(id);
        const res = await t.call('GET', `/api/jobs/${id}/`, { token: user.access });
        assert.equal(res.statusCode, 200, res.payload);
        if (before === undefined) {
            reads.delete(id);
        }
        else {
            reads.set(id, before);
        }

        return JSON.parse(res.payload) as Job;
    };

    before(async () => {
        t = await startTestServer({ listen: true });
        worker = await startWorker({ config: t.config, db: t.database.db, concurrency: 2 });
        user = await t.user();
        client = new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh, WebSocket: gate().WebSocket });
        t.server.ext('onRequest', (request, h) => {
            const id = request.method === 'get' ? /^\/api\/jobs\/(job_[^/]+)\/?$/.exec(request.path)?.[1] : undefined;
            if (id) {
                reads.set(id, (reads.get(id) ?? 0) + 1);
            }

            return h.continue;
        });
    });
    after(async () => {
        await client.realtime.close();
        await worker.close();
        await t.stop();
    });

    it('streams the output live and resolves with the finished job', async () => {
        const code = 'import sys, time\ntime.sleep(0.5)\nprint("first", flush=True)\ntime.sleep(0.3)\nsys.stderr.write("oops\\n")\nprint("second")\n';
        const { job_id: id } = await client.jobs.submit({ code, language: 'python' });
        const chunks: JobOutputChunk[] = [];
        const statuses: JobStatus[] = [];
        const job = await client.jobs.wait(id, { onOutput: (chunk) => chunks.push(chunk), onStatus: (status) => statuses.push(status) });
        assert.equal(job.status, 'succeeded');
        assert.equal(job.stdout, 'first\nsecond\n');
        assert.equal(job.stderr, 'oops\n');
        assert.equal(chunks.filter((c) => c.stream === 'stdout').map((c) => c.data).join(''), 'first\nsecond\n');
        assert.equal(chunks.filter((c) => c.stream === 'stderr').map((c) => c.data).join(''), 'oops\n');
        assert.equal(statuses.at(-1), 'succeeded');
        assert.ok(statuses.includes('running'), statuses.join());
        assert.equal(reads.get(id), undefined, 'no read: the final update carried the job');
        assert.deepEqual(job, await read(id));
    });

    it('resolves with a failed job and its exit code', async () => {
        const { job_id: id } = await client.jobs.submit({ code: 'import sys; sys.exit(3)', language: 'python' });
        const job = await client.jobs.wait(id);
        assert.deepEqual([job.status, job.exit_code], ['failed', 3]);
    });

    it('resolves for a job that ended already without waiting for a poll', async () => {
        const { job_id: id } = await client.jobs.submit({ code: 'print(1)', language: 'python' });
        await client.jobs.wait(id);
        // No status update will come: only the read right after subscribing can end this wait before its first poll.
        const pollMs = 60_000;
        const started = Date.now();
        assert.equal((await client.jobs.wait(id, { pollMs })).status, 'succeeded');
        assert.ok(Date.now() - started < pollMs, `resolved after ${Date.now() - started} ms`);
        assert.equal(reads.get(id), undefined, 'no read: the current status carried the job');
    });

    it('reads the job when its final update carries none (a job the system gave up on)', async () => {
        // A running row off the queue, ended as the worker ends a job after its last failed attempt.
        const id = newJobId();
        await t.database.db('jobs').insert({ id, user_id: user.id, language: 'python', code: 'print(1)', timeout_ms: 1000, memory_mb: 64, status: 'running', attempts: 3 });
        let subscribed!: () => void;
        const running = new Promise<void>((resolve) => (subscribed = resolve));
        const waiting = client.jobs.wait(id, { pollMs: 60_000, onStatus: (status) => status === 'running' && subscribed() });
        await running;
        const redis = new Redis(REDIS_URL);
        try {
            const publisher = new JobPublisher({ updates: new PubSub('shard', redis), prefix: t.config.redisPrefix, logger: createLogger('silent', 'test') });
            const error = JOB_ERRORS.systemFailure(3);
            const owner = await failJob(t.database.db, id, error);
            assert.ok(owner);
            await publisher.status(owner, 'error', null, error);
            const started = Date.now();
            const job = await waiting;
            assert.ok(Date.now() - started < 5000, `resolved after ${Date.now() - started} ms, not at once`);
            assert.equal(reads.get(id), 1, 'one read, after the final status');
            assert.deepEqual(job, await read(id));
            assert.deepEqual([job.status, job.error], ['error', error]);
        }
        finally {
            redis.disconnect();
        }
    });

    it('falls back to polling when no WebSocket can be opened', async () => {
        const refused = gate();
        refused.block();
        const polling = new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh, WebSocket: refused.WebSocket });
        const { job_id: id } = await polling.jobs.submit({ code: 'print("polled")', language: 'python' });
        const job = await polling.jobs.wait(id);
        assert.equal(job.stdout, 'polled\n');
    });

    it('rejects for an unknown job, and when aborted', async () => {
        await assert.rejects(client.jobs.wait('job_doesnotexist'), NotFoundError);
        const { job_id: id } = await client.jobs.submit({ code: 'import time; time.sleep(5)', language: 'python' });
        const controller = new AbortController();
        const waiting = client.jobs.wait(id, { signal: controller.signal });
        setTimeout(() => controller.abort(new Error('stop waiting')), 300);
        await assert.rejects(waiting, /stop waiting/);
        await client.jobs.cancel(id);
        assert.equal((await client.jobs.wait(id)).status, 'cancelled');
    });
});
