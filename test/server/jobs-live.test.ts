import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import NesClient from '@hapi/nes/lib/client.js';
import { jobKeys, type JobUpdate } from '@collab/core';
import { startWorker, type WorkerHandle } from '@collab/worker';
import { Redis } from 'ioredis';
import WebSocket from 'ws';

import { REDIS_URL } from '../helpers/config.js';
import { eventually } from '../helpers/process.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

// This file's job directories stay out of the shared tmp, where sandbox.test.ts counts collab-job-* directories.
// Traversable (0711): in bwrap mode the sandbox, as nobody, binds a directory inside it.
const privateTmp = mkdtempSync(join(tmpdir(), 'collab-jobs-test-'));
chmodSync(privateTmp, 0o711);
process.env.TMPDIR = privateTmp;
after(() => rmSync(privateTmp, { recursive: true, force: true }));

const Client = (NesClient as unknown as { Client: typeof import('@hapi/nes/lib/client.js').Client }).Client;
(Client as unknown as { WebSocket: unknown }).WebSocket = WebSocket;

/** The nes subscription `/jobs/{job_id}`: a job's status changes and output, live. */
describe('nes /jobs/{job_id}', { timeout: 60_000 }, () => {
    let t: TestServer;
    let worker: WorkerHandle;
    let redis: Redis;
    let alice: TestUser;
    let bob: TestUser;
    const clients: Array<InstanceType<typeof Client>> = [];

    async function connect(user: TestUser) {
        const client = new Client(`ws://127.0.0.1:${t.server.info.port}`);
        clients.push(client);
        await client.connect({ auth: { headers: { authorization: `Bearer ${user.access}` } } });
        return client;
    }

    const submit = async (user: TestUser, payload: Record<string, unknown>) => {
        const res = await t.call('POST', '/api/jobs/submit/', { token: user.access, payload: { language: 'python', ...payload } });
        assert.equal(res.statusCode, 202, res.payload);
        return (res.result as { job_id: string }).job_id;
    };
    const subscribers = async (id: string) => Number(((await redis.pubsub('NUMSUB', jobKeys(t.config.redisPrefix).updates(id))) as [string, number])[1]);

    before(async () => {
        t = await startTestServer({ listen: true });
        worker = await startWorker({ config: t.config, db: t.database.db, concurrency: 2 });
        redis = new Redis(REDIS_URL);
        alice = await t.user('alice');
        bob = await t.user('bob');
    });

    after(async () => {
        await Promise.all(clients.map((client) => client.disconnect()));
        await worker.close();
        redis.disconnect();
        await t.stop();
    });

    it('streams the current status, the output and the final status to the submitter', async () => {
        const id = await submit(alice, { code: 'import time\ntime.sleep(0.5)\nprint("one", flush=True)\ntime.sleep(0.2)\nprint("two")\nraise SystemExit(5)' });
        const client = await connect(alice);
        const updates: JobUpdate[] = [];
        await client.subscribe(`/jobs/${id}`, (message) => updates.push(message as JobUpdate));
        await eventually(() => updates.some((u) => u.type === 'status' && u.status === 'failed'), 15_000, 'the final status');
        assert.equal(updates[0]!.type, 'status', 'the current status first');
        const output = updates.filter((u) => u.type === 'output').map((u) => u.type === 'output' && u.data).join('');
        assert.equal(output, 'one\ntwo\n');
        const last = updates.at(-1)!;
        assert.deepEqual(last, { type: 'status', job_id: id, status: 'failed', attempts: 1, exit_code: 5, error: null });
        await client.unsubscribe(`/jobs/${id}`);
        await eventually(async () => (await subscribers(id)) === 0, 5000, 'the relay to unsubscribe from Redis');
    });

    it('shares one Redis subscription among local subscribers of a job', async () => {
        const id = await submit(alice, { code: 'import time; time.sleep(1)' });
        const a = await connect(alice);
        const b = await connect(alice);
        await a.subscribe(`/jobs/${id}`, () => undefined);
        await b.subscribe(`/jobs/${id}`, () => undefined);
        assert.equal(await subscribers(id), 1);
        await a.disconnect();
        assert.equal(await subscribers(id), 1, 'still one local subscriber');
        await b.disconnect();
        await eventually(async () => (await subscribers(id)) === 0, 5000, 'the last subscriber to leave');
    });

    it('lets members of the job\'s workspace subscribe, and nobody else (404)', async () => {
        const db = t.database.db;
        const [project] = await db('projects').insert({ name: `p-${randomUUID().slice(0, 6)}` }).returning('id');
        const carol = await t.user('carol');
        await db('memberships').insert([{ project_id: project.id, user_id: alice.id, role: 'owner' }, { project_id: project.id, user_id: carol.id, role: 'viewer' }]);
        const [workspace] = await db('workspaces').insert({ project_id: project.id, name: 'w' }).returning('id');
        const id = await submit(alice, { code: 'print("hi")', workspace_id: workspace.id });

        const viewer = await connect(carol);
        const seen: JobUpdate[] = [];
        await viewer.subscribe(`/jobs/${id}`, (message) => seen.push(message as JobUpdate));
        await eventually(() => seen.some((u) => u.type === 'status' && u.status === 'succeeded'), 10_000, 'the viewer to see it end');

        const outsider = await connect(bob);
        await assert.rejects(outsider.subscribe(`/jobs/${id}`, () => undefined), (err: { statusCode?: number }) => err.statusCode === 404);
        await assert.rejects(outsider.subscribe('/jobs/job_doesnotexist00', () => undefined), (err: { statusCode?: number }) => err.statusCode === 404);
    });
});
