import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Redis } from 'ioredis';
import type { Job, JobUpdate } from '@collab/protocol';
import { EventBus, jobKeys, parseJobUpdate } from '@collab/core';
import type { EventEnvelope } from '@collab/sdk';
import { startWorker, type WorkerHandle } from '@collab/worker';

import { REDIS_URL } from '../helpers/config.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

// This file's job directories stay out of the shared tmp, where sandbox.test.ts counts collab-job-* directories.
// Traversable (0711): in bwrap mode the sandbox, as nobody, binds a directory inside it.
const privateTmp = mkdtempSync(join(tmpdir(), 'collab-jobs-test-'));
chmodSync(privateTmp, 0o711);
process.env.TMPDIR = privateTmp;
after(() => rmSync(privateTmp, { recursive: true, force: true }));

const SECRET_ENV = { DATABASE_URL_MARKER: 'postgres://secret-marker@db/collab', COLLAB_SECRET_MARKER: 'jwt-secret-marker-value' };

// A forked job's PID 1 is not dumpable, so its environ is not even readable; a fresh job's is empty.
const PRINT_ENVIRONMENT = `import os
print(os.environ)
try:
    print(open("/proc/1/environ").read())
except PermissionError:
    print("/proc/1/environ is not readable")
print(sorted(os.environ))`;

/** Jobs through the API and a real worker in this process, sandboxed with bubblewrap. */
describe('jobs API with a bwrap worker', { timeout: 120_000 }, () => {
    let t: TestServer;
    let worker: WorkerHandle;
    let alice: TestUser;
    let bob: TestUser;

    const submit = async (user: TestUser, payload: Record<string, unknown>) => {
        const res = await t.call('POST', '/api/jobs/submit/', { token: user.access, payload: { language: 'python', ...payload } });
        assert.equal(res.statusCode, 202, res.payload);
        return (res.result as { job_id: string }).job_id;
    };
    const get = async (user: TestUser, id: string) => (await t.call('GET', `/api/jobs/${id}/`, { token: user.access })).result as Job;
    const finished = (user: TestUser, id: string, timeoutMs = 20_000) => until(async () => {
        const job = await get(user, id);
        return !['queued', 'running'].includes(job.status) && job;
    }, timeoutMs, `job ${id} to end`);

    before(async () => {
        Object.assign(process.env, SECRET_ENV);
        t = await startTestServer();
        worker = await startWorker({ config: t.config, db: t.database.db, concurrency: 3 });
        alice = await t.user('alice');
        bob = await t.user('bob');
    });

    after(async () => {
        await worker.close();
        await t.stop();
        for (const name of Object.keys(SECRET_ENV)) {
            delete process.env[name];
        }
    });

    it('runs hello world in python to succeeded', async () => {
        const id = await submit(alice, { code: 'print("Hello World")' });
        const job = await finished(alice, id);
        assert.equal(job.status, 'succeeded');
        assert.equal(job.stdout, 'Hello World\n');
        assert.equal(job.stderr, '');
        assert.equal(job.exit_code, 0);
        assert.equal(job.attempts, 1);
        assert.equal(job.truncated, false);
        assert.equal(job.error, null);
        assert.ok(job.duration_ms !== null && job.duration_ms >= 0);
        assert.ok(job.started_at && job.finished_at && job.started_at <= job.finished_at);
    });

    it('feeds stdin and runs bash and javascript too', async () => {
        const py = await finished(alice, await submit(alice, { code: 'import sys; print(sys.stdin.read()[::-1])', stdin: 'abc' }));
        assert.equal(py.stdout, 'cba\n');
        const sh = await finished(alice, await submit(alice, { language: 'bash', code: 'echo "sum $((2 + 3))"' }));
        assert.equal(sh.stdout, 'sum 5\n');
        const js = await finished(alice, await submit(alice, { language: 'javascript', code: 'console.log([1, 2].map((x) => x * 2).join(","))' }));
        assert.equal(js.stdout, '2,4\n');
    });

    it('records a failing program as failed with its exit code, never retried', async () => {
        const id = await submit(alice, { code: 'import sys\nprint("oops", file=sys.stderr)\nsys.exit(3)' });
        const job = await finished(alice, id);
        assert.equal(job.status, 'failed');
        assert.equal(job.exit_code, 3);
        assert.equal(job.stderr, 'oops\n');
        assert.equal(job.attempts, 1);
        assert.equal(job.error, null);
    });

    it('kills a program at its timeout: timed_out', async () => {
        const id = await submit(alice, { code: 'import time\nprint("start", flush=True)\ntime.sleep(30)', timeout_ms: 500 });
        const job = await finished(alice, id);
        assert.equal(job.status, 'timed_out');
        assert.equal(job.exit_code, null);
        assert.equal(job.stdout, 'start\n');
        assert.equal(job.attempts, 1);
        assert.ok(job.duration_ms! >= 450 && job.duration_ms! < 5000, String(job.duration_ms));
    });

    it('cancels a running job: the program is killed, then the job is cancelled', async () => {
        const subscriber = new Redis(REDIS_URL);
        const updates: JobUpdate[] = [];
        await subscriber.psubscribe(`${jobKeys(t.config.redisPrefix).updatesPrefix}*`);
        subscriber.on('pmessage', (_pattern, _channel, message) => updates.push(parseJobUpdate(message)!));
        const id = await submit(alice, { code: 'import time\nprint("started", flush=True)\ntime.sleep(30)\nprint("never")' });
        await until(() => updates.some((u) => u.job_id === id && u.type === 'output' && u.data === 'started\n'), 10_000, 'the program\'s live output');
        const res = await t.call('POST', `/api/jobs/${id}/cancel/`, { token: alice.access });
        assert.equal(res.statusCode, 202);
        assert.equal((res.result as { status: string }).status, 'running');
        const job = await finished(alice, id, 5000);
        assert.equal(job.status, 'cancelled');
        assert.equal(job.stdout, 'started\n');
        assert.ok(job.duration_ms! < 5000);
        assert.equal((await t.call('POST', `/api/jobs/${id}/cancel/`, { token: alice.access })).statusCode, 409);
        await until(() => updates.some((u) => u.job_id === id && u.type === 'status' && u.status === 'cancelled'), 2000, 'the cancelled update');
        assert.deepEqual(updates.filter((u) => u.job_id === id).map((u) => u.type === 'status' ? u.status : u.data), ['running', 'started\n', 'cancelled']);
        subscriber.disconnect();
    });

    it('shows the program nothing of the server\'s environment', async () => {
        assert.equal(process.env.COLLAB_SECRET_MARKER, SECRET_ENV.COLLAB_SECRET_MARKER);
        const job = await finished(alice, await submit(alice, { code: PRINT_ENVIRONMENT }));
        assert.equal(job.status, 'succeeded', job.stderr);
        for (const secret of [...Object.values(SECRET_ENV), t.config.jwtSecret, t.database.url ?? 'postgres://', 'REDIS_URL', 'REDIS_PREFIX']) {
            assert.ok(!job.stdout.includes(secret), `the program saw ${secret}`);
        }

        assert.match(job.stdout, /\['HOME', 'LANG', 'PATH'\]\n$/);
    });

    it('caps output at 64 KiB per stream and marks it truncated', async () => {
        const job = await finished(alice, await submit(alice, { code: 'import sys\nsys.stdout.write("x" * 200000)' }));
        assert.equal(job.status, 'succeeded');
        assert.equal(job.stdout.length, 64 * 1024);
        assert.equal(job.truncated, true);
    });

    it('publishes job.queued, job.started and job.finished on the workspace bus', async () => {
        const db = t.database.db;
        const [project] = await db('projects').insert({ name: `p-${randomUUID().slice(0, 6)}` }).returning('id');
        await db('memberships').insert([{ project_id: project.id, user_id: alice.id, role: 'owner' }, { project_id: project.id, user_id: bob.id, role: 'viewer' }]);
        const [workspace] = await db('workspaces').insert({ project_id: project.id, name: 'w' }).returning('id');
        const redis = new Redis(REDIS_URL);
        const subscriber = new Redis(REDIS_URL);
        const bus = new EventBus({ redis, subscriber, prefix: t.config.redisPrefix, instanceId: 'test-listener' });
        const events: EventEnvelope[] = [];
        try {
            await bus.ready();
            bus.subscribe(workspace.id, (envelope) => events.push(envelope));
            await new Promise((resolve) => setTimeout(resolve, 100));
            const id = await submit(alice, { code: 'import sys; sys.exit(4)', workspace_id: workspace.id });
            await until(() => events.length >= 3, 10_000, 'three job events');
            assert.deepEqual(events.map((e) => [e.event, e.payload, e.user, e.user_id, e.workspace]), [
                ['job.queued', { job_id: id, status: 'queued' }, alice.email, alice.id, workspace.id],
                ['job.started', { job_id: id, status: 'running' }, alice.email, alice.id, workspace.id],
                ['job.finished', { job_id: id, status: 'failed', exit_code: 4 }, alice.email, alice.id, workspace.id]
            ]);
            assert.deepEqual(events.map((e) => e.seq), [events[0]!.seq!, events[0]!.seq! + 1, events[0]!.seq! + 2]);
            assert.equal((await get(bob, id)).status, 'failed', 'a viewer of the workspace reads the job');
        }
        finally {
            await bus.close();
            redis.disconnect();
            subscriber.disconnect();
        }
    });

    it('advertises the worker with its languages, concurrency and load', async () => {
        const res = await t.call('GET', '/api/jobs/languages/', { token: bob.access });
        const names = (res.result as Array<{ language: string }>).map((entry) => entry.language);
        assert.deepEqual(names, ['bash', 'javascript', 'python']);
        const redis = new Redis(REDIS_URL);
        try {
            const advert = JSON.parse((await redis.get(jobKeys(t.config.redisPrefix).worker(worker.id)))!);
            assert.deepEqual(Object.keys(advert).sort(), ['concurrency', 'id', 'languages', 'last_seen', 'running', 'versions']);
            assert.equal(advert.concurrency, 3);
            assert.ok(await redis.pttl(jobKeys(t.config.redisPrefix).worker(worker.id)) > 0);
        }
        finally {
            redis.disconnect();
        }
    });
});
