import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { advertiseWorker, jobKeys, JOB_QUEUE_NAME, knexConfig, migrateLatest } from '@collab/core';
import { startWorker, type WorkerHandle } from '@collab/worker';
import { Queue } from 'bullmq';
import knex from 'knex';
import { Redis } from 'ioredis';

import { onPglite } from '../helpers/database.js';
import { freePort, run, type Child } from '../helpers/process.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

// This file's job directories stay out of the shared tmp, where sandbox.test.ts counts collab-job-* directories.
// Traversable (0711): in bwrap mode the sandbox, as nobody, binds a directory inside it.
const privateTmp = mkdtempSync(join(tmpdir(), 'collab-jobs-test-'));
chmodSync(privateTmp, 0o711);
process.env.TMPDIR = privateTmp;
after(() => rmSync(privateTmp, { recursive: true, force: true }));

const PG_BIN = '/usr/lib/postgresql/15/bin';

async function startRedis(port: number): Promise<Child> {
    const child = run('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await until(async () => probe.connect().then(() => true).catch(() => false), 10_000, 'redis-server to listen');
    probe.disconnect();
    return child;
}

async function stop(child: Child): Promise<void> {
    child.process.kill('SIGTERM');
    await child.exited;
}

describe('jobs while Redis goes away', { timeout: 120_000 }, () => {
    let port: number;
    let redisServer: Child;
    let t: TestServer;
    let worker: WorkerHandle;
    let user: TestUser;

    before(async () => {
        port = await freePort();
        redisServer = await startRedis(port);
        t = await startTestServer({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
        worker = await startWorker({ config: t.config, db: t.database.db, concurrency: 2, reconcileIntervalMs: 500, queuedAgeMs: 1000, heartbeatMs: 1000 });
        user = await t.user('outage');
    });

    after(async () => {
        await worker?.close();
        await t?.stop().catch(() => undefined);
        if (redisServer) {
            await stop(redisServer);
        }
    });

    it('loses no job when Redis stops for a few seconds with jobs queued, and accepts submits meanwhile', async () => {
        const submit = async (i: number) => {
            const res = await t.call('POST', '/api/jobs/submit/', { token: user.access, payload: { language: 'python', code: `import time; time.sleep(0.3); print(${i})` } });
            assert.equal(res.statusCode, 202, res.payload);
            return (res.result as { job_id: string }).job_id;
        };
        const ids: string[] = [];
        for (let i = 0; i < 8; i++) {
            ids.push(await submit(i));
        }

        await until(async () => (await t.database.db('jobs').where({ status: 'running' })).length > 0, 10_000, 'a job to run');
        await stop(redisServer);
        const during = [await submit(100), await submit(101)];
        await new Promise((resolve) => setTimeout(resolve, 3000));
        redisServer = await startRedis(port);

        const all = [...ids, ...during];
        await until(async () => {
            const rows: Array<{ status: string }> = await t.database.db('jobs').whereIn('id', all);
            return rows.every((row) => row.status === 'succeeded');
        }, 60_000, 'every job to succeed');
        const rows: Array<{ id: string; stdout: string; attempts: number }> = await t.database.db('jobs').whereIn('id', all);
        const byId = new Map(rows.map((row) => [row.id, row]));
        assert.deepEqual(all.map((id) => byId.get(id)!.stdout), [...[0, 1, 2, 3, 4, 5, 6, 7], 100, 101].map((i) => `${i}\n`));
        assert.ok(rows.every((row) => row.attempts >= 1 && row.attempts <= 3));
    });
});

describe('jobs while the database goes away', { skip: onPglite && 'needs PostgreSQL', timeout: 120_000 }, () => {
    let dataDir: string;
    let pgPort: number;
    let t: TestServer;
    let queue: Queue;
    let user: TestUser;
    let db: ReturnType<typeof knex>;

    const pgCtl = async (...args: string[]) => {
        const child = run('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', dataDir, ...args]);
        const code = await child.exited;
        assert.equal(code, 0, child.stderr() + child.stdout());
    };

    before(async () => {
        dataDir = mkdtempSync(join(tmpdir(), 'collab-pg-'));
        const id = run('id', ['-u', 'postgres']);
        await id.exited;
        const uid = Number(id.stdout().trim());
        chownSync(dataDir, uid, uid);
        const init = run('runuser', ['-u', 'postgres', '--', `${PG_BIN}/initdb`, '-D', dataDir, '-U', 'postgres', '--auth=trust']);
        assert.equal(await init.exited, 0, init.stderr());
        pgPort = await freePort();
        await pgCtl('-o', `-p ${pgPort} -k ${dataDir}`, '-l', join(dataDir, 'log'), '-w', 'start');
        db = knex(knexConfig({ databaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres`, poolMax: 4 }));
        await migrateLatest(db);
        t = await startTestServer({ database: { db, url: `postgres://postgres@127.0.0.1:${pgPort}/postgres`, drop: async () => undefined } });
        queue = new Queue(JOB_QUEUE_NAME, { connection: { url: t.config.redisUrl }, prefix: jobKeys(t.config.redisPrefix).bullPrefix });
        const redis = new Redis(t.config.redisUrl);
        await advertiseWorker(redis, t.config.redisPrefix, { id: 'fake', languages: ['python'], versions: { python: '3' }, concurrency: 1, running: 0, last_seen: new Date().toISOString() }, 120_000);
        redis.disconnect();
        user = await t.user('dbdown');
    });

    after(async () => {
        await queue?.close();
        await t?.stop().catch(() => undefined);
        await db?.destroy();
        await pgCtl('-m', 'immediate', 'stop').catch(() => undefined);
        rmSync(dataDir, { recursive: true, force: true });
    });

    it('answers a submit with 503 and enqueues nothing while the database is down, and recovers', async () => {
        const payload = { language: 'python', code: 'print(1)' };
        await pgCtl('-m', 'fast', '-w', 'stop');
        const res = await t.call('POST', '/api/jobs/submit/', { token: user.access, payload });
        assert.equal(res.statusCode, 503, res.payload);
        assert.match((res.result as { message: string }).message, /database/i);
        const counts = await queue.getJobCounts();
        assert.deepEqual(Object.values(counts).filter((n) => n > 0), [], 'nothing enqueued');
        assert.equal((await t.call('GET', '/api/jobs/', { token: user.access })).statusCode, 503);

        await pgCtl('-o', `-p ${pgPort} -k ${dataDir}`, '-l', join(dataDir, 'log'), '-w', 'start');
        const ok = await until(async () => {
            const again = await t.call('POST', '/api/jobs/submit/', { token: user.access, payload });
            return again.statusCode === 202 && again;
        }, 10_000, 'submits to work again');
        const id = (ok.result as { job_id: string }).job_id;
        assert.equal(await queue.getJobState(id), 'waiting');
        assert.equal((await db('jobs').count({ n: '*' }))[0]!.n, '1');
    });
});
