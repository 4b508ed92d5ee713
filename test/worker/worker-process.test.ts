import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobUpdate } from '@collab/protocol';
import { advertiseWorker, jobKeys, JOB_QUEUE_NAME, parseJobUpdate } from '@collab/core';
import { startWorker, type WorkerHandle } from '@collab/worker';

import { JOB_ERRORS } from '../../packages/worker/src/store.js';
import { REDIS_URL } from '../helpers/config.js';
import { onPglite } from '../helpers/database.js';
import { run, type Child } from '../helpers/process.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

// This file's job directories stay out of the shared tmp, where sandbox.test.ts counts collab-job-* directories.
// Traversable (0711): in bwrap mode the sandbox, as nobody, binds a directory inside it.
const privateTmp = mkdtempSync(join(tmpdir(), 'collab-jobs-test-'));
chmodSync(privateTmp, 0o711);
process.env.TMPDIR = privateTmp;
after(() => rmSync(privateTmp, { recursive: true, force: true }));

const BIN = fileURLToPath(new URL('../../packages/worker/src/bin.ts', import.meta.url));

interface Row {
    status: string;
    attempts: number;
    stdout: string | null;
    error: string | null;
}

/** collab-worker processes killed, frozen and stopped in the middle of jobs. */
describe('collab-worker process', { skip: onPglite && 'needs PostgreSQL (several processes)', timeout: 180_000 }, () => {
    let t: TestServer;
    let redis: Redis;
    let subscriber: Redis;
    let queue: Queue;
    let user: TestUser;
    const updates: JobUpdate[] = [];
    const children: Child[] = [];
    const inProcess: WorkerHandle[] = [];

    /** Starts `collab-worker` from source; resolves once it advertises itself, with the id it advertises. */
    async function spawnWorker(env: Record<string, string> = {}): Promise<Child & { id: string }> {
        const before = new Set(await redis.smembers(jobKeys(t.config.redisPrefix).workers));
        const child = run(process.execPath, ['--conditions=source', '--import', 'tsx', BIN], {
            env: {
                PATH: process.env.PATH,
                NODE_ENV: 'test',
                DATABASE_URL: t.database.url!,
                REDIS_URL,
                REDIS_PREFIX: t.config.redisPrefix,
                JWT_SECRET: randomBytes(32).toString('hex'),
                COLLAB_SANDBOX: 'bwrap',
                LOG_LEVEL: 'info',
                WORKER_CONCURRENCY: '1',
                WORKER_LOCK_DURATION_MS: '2000',
                WORKER_STALLED_INTERVAL_MS: '500',
                TMPDIR: privateTmp,
                ...env
            }
        });
        children.push(child);
        const id = await until(async () => (await redis.smembers(jobKeys(t.config.redisPrefix).workers)).find((id) => !before.has(id)), 20_000, 'the worker to advertise', () => child.stderr());
        return { ...child, id };
    }

    /** A worker in this process, quick to take over stalled jobs. */
    async function localWorker(): Promise<WorkerHandle> {
        const worker = await startWorker({ config: t.config, db: t.database.db, concurrency: 2, stalledIntervalMs: 500, lockDurationMs: 2000 });
        inProcess.push(worker);
        return worker;
    }

    async function submit(code: string, extra: Record<string, unknown> = {}): Promise<string> {
        const res = await t.call('POST', '/api/jobs/submit/', { token: user.access, payload: { language: 'python', code, ...extra } });
        assert.equal(res.statusCode, 202, res.payload);
        return (res.result as { job_id: string }).job_id;
    }

    const row = async (id: string): Promise<Row> => t.database.db('jobs').where({ id }).first();
    const ended = (id: string, timeoutMs = 30_000) =>
        until(async () => {
            const current = await row(id);
            return !['queued', 'running'].includes(current.status) && current;
        }, timeoutMs, `job ${id} to end`);
    const terminalUpdates = (id: string) =>
        updates.filter((u) => u.job_id === id && u.type === 'status' && !['queued', 'running'].includes(u.status));

    before(async () => {
        t = await startTestServer();
        redis = new Redis(REDIS_URL);
        subscriber = new Redis(REDIS_URL);
        subscriber.on('pmessage', (_p, _c, message) => updates.push(parseJobUpdate(message)!));
        await subscriber.psubscribe(`${jobKeys(t.config.redisPrefix).updatesPrefix}*`);
        queue = new Queue(JOB_QUEUE_NAME, { connection: { url: REDIS_URL }, prefix: jobKeys(t.config.redisPrefix).bullPrefix });
        user = await t.user('worker-owner');
    });

    after(async () => {
        for (const child of children) {
            child.process.kill('SIGKILL');
        }
        await Promise.all(inProcess.map((worker) => worker.close()));
        await queue.close();
        redis.disconnect();
        subscriber.disconnect();
        await t.stop();
    });

    it('finishes a job on another worker when its worker is SIGKILLed mid-run: succeeded, attempts 2, one terminal status', async () => {
        const a = await spawnWorker();
        const id = await submit('import time; time.sleep(3); print("done")');
        await until(async () => (await row(id)).status === 'running', 10_000, 'worker A to start the job');
        const killedAt = Date.now();
        a.process.kill('SIGKILL');
        assert.equal(await a.exited, 'SIGKILL');

        await localWorker();
        // The contract's bound: one terminal status within 90 s of the crash.
        const job = await ended(id, 90_000 - (Date.now() - killedAt));
        assert.equal(job.status, 'succeeded');
        assert.equal(job.stdout, 'done\n');
        assert.equal(job.attempts, 2);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(terminalUpdates(id).map((u) => u.type === 'status' && u.status), ['succeeded']);
    });

    it('keeps one terminal status when two workers run the same job (the first one frozen past its lock)', async () => {
        await Promise.all(inProcess.splice(0).map((worker) => worker.close()));
        const a = await spawnWorker();
        const id = await submit('import time; time.sleep(2); print("done")');
        await until(async () => (await row(id)).status === 'running', 10_000, 'worker A to start the job');
        a.process.kill('SIGSTOP');
        await localWorker();
        await until(async () => (await row(id)).attempts === 2, 20_000, 'worker B to take the job over');
        a.process.kill('SIGCONT');
        await until(() => a.stdout().includes('result discarded'), 20_000, 'worker A to find its result superseded');
        const job = await ended(id);
        assert.equal(job.status, 'succeeded');
        assert.equal(job.attempts, 2);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(terminalUpdates(id).length, 1);
        a.process.kill('SIGTERM');
        assert.equal(await a.exited, 0);
    });

    it('lets a running job finish on SIGTERM and exits 0', async () => {
        await Promise.all(inProcess.splice(0).map((worker) => worker.close()));
        const a = await spawnWorker();
        const id = await submit('import time; time.sleep(1); print("done")');
        await until(async () => (await row(id)).status === 'running', 10_000, 'the job to start');
        const keys = jobKeys(t.config.redisPrefix);
        assert.equal(await redis.exists(keys.worker(a.id)), 1, 'the worker advertises itself while it runs');
        a.process.kill('SIGTERM');
        assert.equal(await a.exited, 0, a.stderr());
        const job = await row(id);
        assert.equal(job.status, 'succeeded');
        assert.equal(job.stdout, 'done\n');
        assert.equal(await redis.exists(keys.worker(a.id)), 0, 'a stopped worker withdraws its advert');
        assert.ok(!(await redis.smembers(keys.workers)).includes(a.id), 'and leaves the list of workers');
    });

    it('re-queues a job it cannot finish within WORKER_GRACE_MS, exits 0, and another worker runs it', async () => {
        const marker = `/tmp/collab-requeue-${randomBytes(4).toString('hex')}`;
        // Unsandboxed: the program tells its second run from its first by a file on the host, which no sandbox keeps.
        const a = await spawnWorker({ WORKER_GRACE_MS: '300', COLLAB_SANDBOX: 'none' });
        const code = `import os, time\np = ${JSON.stringify(marker)}\nif os.path.exists(p):\n    print("second run")\nelse:\n    open(p, "w").close()\n    time.sleep(30)`;
        const id = await submit(code);
        await until(() => existsSync(marker), 10_000, 'the first run to start');
        const stoppedAt = Date.now();
        a.process.kill('SIGTERM');
        assert.equal(await a.exited, 0, a.stderr());
        // WORKER_GRACE_MS (300 ms), with slack for a loaded machine: far less than the 30 s the program would run.
        assert.ok(Date.now() - stoppedAt < 10_000, `exited ${Date.now() - stoppedAt} ms after SIGTERM`);
        const requeued = await row(id);
        assert.equal(requeued.status, 'queued');
        assert.equal(requeued.attempts, 1);
        assert.equal(await queue.getJobState(id), 'waiting');

        await startWorker({ config: { ...t.config, sandbox: 'none' }, db: t.database.db }).then((worker) => inProcess.push(worker));
        const job = await ended(id);
        rmSync(marker, { force: true });
        assert.equal(job.status, 'succeeded');
        assert.equal(job.stdout, 'second run\n');
        assert.equal(job.attempts, 2);
        assert.equal(job.error, null);
    });

    it('retries a sandbox that cannot start 3 times with backoff, then ends the job with error', async () => {
        await Promise.all(inProcess.splice(0).map((worker) => worker.close()));
        // A TMPDIR under a regular file: the job directory, which a fresh start makes, cannot be made, a SandboxStartError
        // (tsx must not cache there). A forked job needs no job directory: its fork failures are tested in forkserver tests.
        const a = await spawnWorker({ TMPDIR: '/etc/hostname/collab', TSX_DISABLE_CACHE: '1', COLLAB_SANDBOX_MODE: 'fresh' });
        const started = Date.now();
        const id = await submit('print(1)');
        const job = await ended(id, 20_000);
        assert.equal(job.status, 'error', a.stdout());
        assert.equal(job.attempts, 3);
        // The cause (the job directory) goes to the worker's log; `error` is the fixed sentence for people.
        assert.equal(job.error, JOB_ERRORS.systemFailure(3));
        assert.ok(Date.now() - started >= 1500, 'backoff between attempts');
        a.process.kill('SIGTERM');
        assert.equal(await a.exited, 0);
    });

    it('refuses to start with a bad variable, naming it', async () => {
        // Unsandboxed, so WORKER_CONCURRENCY is the only variable it can refuse.
        const child = run(process.execPath, ['--conditions=source', '--import', 'tsx', BIN], {
            env: { PATH: process.env.PATH, REDIS_PREFIX: t.config.redisPrefix, WORKER_CONCURRENCY: 'many', COLLAB_SANDBOX: 'none' }
        });
        assert.equal(await child.exited, 2);
        assert.match(child.stderr(), /^collab-worker: Invalid configuration: WORKER_CONCURRENCY/);
    });

    it('stops listing a worker whose advert expired (a dead worker)', async () => {
        const languages = async () => ((await t.call('GET', '/api/jobs/languages/', { token: user.access })).result as Array<{ language: string }>).map((l) => l.language);
        await advertiseWorker(redis, t.config.redisPrefix, { id: 'ghost', languages: ['cobol'], versions: { cobol: '85' }, concurrency: 1, running: 0, last_seen: new Date().toISOString() }, 300);
        assert.ok((await languages()).includes('cobol'));
        await until(async () => !(await languages()).includes('cobol'), 10_000, 'the expired worker to leave the languages');
        assert.ok(!(await redis.smembers(jobKeys(t.config.redisPrefix).workers)).includes('ghost'), 'the dead id is forgotten');
    });
});
