import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Redis } from 'ioredis';
import type { Job, JobUpdate } from '@collab/protocol';
import { jobKeys, newJobId } from '@collab/core';
import { startWorker, type WorkerHandle } from '@collab/worker';

import { REDIS_URL } from '../helpers/config.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { Client } from '../realtime/helpers.js';

// This file's job directories stay out of the shared tmp, where sandbox.test.ts counts collab-job-* directories.
// Traversable (0711): in bwrap mode the sandbox, as nobody, binds a directory inside it.
const privateTmp = mkdtempSync(join(tmpdir(), 'collab-jobs-test-'));
chmodSync(privateTmp, 0o711);
process.env.TMPDIR = privateTmp;
after(() => rmSync(privateTmp, { recursive: true, force: true }));

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
    /** The job as GET answers it to `user`, as it comes over the wire. */
    const read = async (user: TestUser, id: string): Promise<Job> => {
        const res = await t.call('GET', `/api/jobs/${id}/`, { token: user.access });
        assert.equal(res.statusCode, 200, res.payload);
        return JSON.parse(res.payload) as Job;
    };

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
        await until(() => updates.some((u) => u.type === 'status' && u.status === 'failed'), 15_000, 'the final status');
        assert.equal(updates[0]!.type, 'status', 'the current status first');
        const output = updates.filter((u) => u.type === 'output').map((u) => u.type === 'output' && u.data).join('');
        assert.equal(output, 'one\ntwo\n');
        const last = updates.at(-1)!;
        const job = await read(alice, id);
        assert.equal(job.stdout, 'one\ntwo\n');
        assert.deepEqual(last, { type: 'status', job_id: id, status: 'failed', attempts: 1, exit_code: 5, error: null, job }, 'the final status carries the job as GET shows it');
        assert.ok(updates.slice(0, -1).every((u) => !('job' in u)), 'only the final status carries the job');
        await client.unsubscribe(`/jobs/${id}`);
        await until(async () => (await subscribers(id)) === 0, 5000, 'the relay to unsubscribe from Redis');
    });

    it('sends a job that ended already with its current status, as GET shows it', async () => {
        const id = await submit(alice, { code: 'import sys\nprint("out")\nsys.stderr.write("err\\n")' });
        const client = await connect(alice);
        const first: JobUpdate[] = [];
        await client.subscribe(`/jobs/${id}`, (message) => first.push(message as JobUpdate));
        await until(() => first.some((u) => u.type === 'status' && u.status === 'succeeded'), 15_000, 'the job to end');
        await client.unsubscribe(`/jobs/${id}`);

        const job = await read(alice, id);
        assert.deepEqual([job.stdout, job.stderr], ['out\n', 'err\n']);
        const updates: JobUpdate[] = [];
        await client.subscribe(`/jobs/${id}`, (message) => updates.push(message as JobUpdate));
        await until(() => updates.length > 0, 5000, 'the current status');
        assert.deepEqual(updates[0], { type: 'status', job_id: id, status: 'succeeded', attempts: 1, exit_code: 0, error: null, job });
        await client.unsubscribe(`/jobs/${id}`);
    });

    it('sends the job with the status of a queued job cancelled by its submitter', async () => {
        // A queued row the worker never sees (it is not on the queue), so it stays queued until the cancel.
        const id = newJobId();
        await t.database.db('jobs').insert({ id, user_id: alice.id, language: 'python', code: 'print(1)', timeout_ms: 1000, memory_mb: 64 });
        const client = await connect(alice);
        const updates: JobUpdate[] = [];
        await client.subscribe(`/jobs/${id}`, (message) => updates.push(message as JobUpdate));
        await until(() => updates.length === 1, 5000, 'the current status');
        assert.deepEqual(updates[0], { type: 'status', job_id: id, status: 'queued', attempts: 0, exit_code: null, error: null }, 'no job before it ends');
        const res = await t.call('POST', `/api/jobs/${id}/cancel/`, { token: alice.access });
        assert.equal(res.statusCode, 202, res.payload);
        await until(() => updates.length === 2, 5000, 'the cancelled status');
        assert.deepEqual(updates[1], { type: 'status', job_id: id, status: 'cancelled', attempts: 0, exit_code: null, error: null, job: await read(alice, id) });
        await client.unsubscribe(`/jobs/${id}`);
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
        await until(async () => (await subscribers(id)) === 0, 5000, 'the last subscriber to leave');
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
        await until(() => seen.some((u) => u.type === 'status' && u.status === 'succeeded'), 10_000, 'the viewer to see it end');
        const job = await read(carol, id);
        assert.deepEqual(seen.at(-1), { type: 'status', job_id: id, status: 'succeeded', attempts: 1, exit_code: 0, error: null, job });
        assert.deepEqual(job, await read(alice, id), 'members read the job the submitter reads');

        // Refused before anything is sent: the ended job (and its output) never reaches an outsider.
        const outsider = await connect(bob);
        const leaked: unknown[] = [];
        await assert.rejects(outsider.subscribe(`/jobs/${id}`, (message) => leaked.push(message)), (err: { statusCode?: number }) => err.statusCode === 404);
        assert.equal((await t.call('GET', `/api/jobs/${id}/`, { token: bob.access })).statusCode, 404);
        await assert.rejects(outsider.subscribe('/jobs/job_doesnotexist00', () => undefined), (err: { statusCode?: number }) => err.statusCode === 404);
        assert.deepEqual(leaked, []);
    });
});

/** Job subscriptions are revoked like workspace ones when the subscriber loses access (DESIGN §5). */
describe('nes /jobs/{job_id} when access is lost', { timeout: 60_000 }, () => {
    let t: TestServer;
    let redis: Redis;
    let admin: TestUser;
    const clients: Array<InstanceType<typeof Client>> = [];

    async function connect(user: TestUser) {
        const client = new Client(`ws://127.0.0.1:${t.server.info.port}`);
        client.onError = () => undefined;
        clients.push(client);
        await client.connect({ auth: { headers: { authorization: `Bearer ${user.access}` } }, reconnect: false });
        return client;
    }

    /** A project of `owner` with `member` as collaborator, a workspace, and a running job of the owner there. */
    async function runningJob(owner: TestUser, member: TestUser) {
        const project = await t.call('POST', '/api/projects/projects/', { token: owner.access, payload: { name: 'P' } });
        const projectId = (project.result as { id: number }).id;
        await t.call('POST', `/api/projects/projects/${projectId}/members/`, { token: owner.access, payload: { user_id: member.id, role: 'collaborator' } });
        const workspace = await t.call('POST', `/api/projects/projects/${projectId}/workspaces/`, { token: owner.access, payload: { name: 'W' } });
        const workspaceId = (workspace.result as { id: number }).id;
        const id = `job_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
        await t.database.db('jobs').insert({ id, user_id: owner.id, workspace_id: workspaceId, language: 'python', code: 'while True: print(1)', timeout_ms: 10_000, memory_mb: 64, status: 'running', attempts: 1 });
        return { projectId, workspaceId, id };
    }

    /** Subscribes and records updates, revokes and the socket's close. */
    async function watch(user: TestUser, id: string) {
        const client = await connect(user);
        const updates: JobUpdate[] = [];
        let revoked: unknown;
        let closed = false;
        client.onDisconnect = () => {
            closed = true;
        };
        await client.subscribe(`/jobs/${id}`, (message, flags) => {
            if ((flags as { revoked?: boolean }).revoked) {
                revoked = message;
            }
            else {
                updates.push(message as JobUpdate);
            }
        });
        const outputs = () => updates.filter((u) => u.type === 'output').map((u) => u.type === 'output' && u.data);
        return { client, updates, outputs, revoked: () => revoked, closed: () => closed };
    }

    /** Publishes an output chunk on the job's update channel, as the worker does. */
    const print = (id: string, data: string) => redis.publish(jobKeys(t.config.redisPrefix).updates(id), JSON.stringify({ type: 'output', job_id: id, stream: 'stdout', data }));
    const subscribers = async (id: string) => Number(((await redis.pubsub('NUMSUB', jobKeys(t.config.redisPrefix).updates(id))) as [string, number])[1]);
    /** Ends the job in its row and publishes its final status with the job, as the worker does. */
    async function finish(owner: TestUser, id: string) {
        await t.database.db('jobs').where({ id }).update({ status: 'succeeded', exit_code: 0, stdout: 'one\ntwo\n', stderr: '', duration_ms: 5, finished_at: new Date() });
        const job = JSON.parse((await t.call('GET', `/api/jobs/${id}/`, { token: owner.access })).payload) as Job;
        const update: JobUpdate = { type: 'status', job_id: id, status: 'succeeded', attempts: 1, exit_code: 0, error: null, job };
        await redis.publish(jobKeys(t.config.redisPrefix).updates(id), JSON.stringify(update));
    }

    before(async () => {
        t = await startTestServer({ listen: true });
        redis = new Redis(REDIS_URL);
        admin = await t.user('admin');
        await t.database.db('users').where({ id: admin.id }).update({ is_admin: true });
    });

    after(async () => {
        await Promise.all(clients.map((client) => client.disconnect()));
        redis.disconnect();
        await t.stop();
    });

    it('revokes a removed member\'s job subscription: no further output, while the submitter keeps receiving', async () => {
        const [owner, member] = await Promise.all([t.user('owner'), t.user('member')]);
        const { projectId, id } = await runningJob(owner, member);
        const submitter = await watch(owner, id);
        const removed = await watch(member, id);
        await print(id, 'one\n');
        await until(() => removed.outputs().length === 1 && submitter.outputs().length === 1, 5000, 'both to get the first output');

        const res = await t.call('DELETE', `/api/projects/projects/${projectId}/members/${member.id}/`, { token: owner.access });
        assert.equal(res.statusCode, 204, res.payload);
        await until(() => removed.revoked() !== undefined, 5000, 'the revoke');
        assert.match(JSON.stringify(removed.revoked()), /access to this job was removed/);
        await print(id, 'two\n');
        await until(() => submitter.outputs().length === 2, 5000, 'the submitter to get the second output');
        await finish(owner, id);
        await until(() => submitter.updates.some((u) => u.type === 'status' && u.job), 5000, 'the submitter to get the job');
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.deepEqual(removed.outputs(), ['one\n']);
        assert.ok(removed.updates.every((u) => u.type !== 'status' || !u.job), 'the removed member never gets the job');
        await assert.rejects(removed.client.subscribe(`/jobs/${id}`, () => undefined), (err: { statusCode?: number }) => err.statusCode === 404);
        assert.equal(removed.closed(), false, 'the socket stays open');
        assert.equal(removed.client.subscriptions().length, 0);
        assert.equal((await t.call('GET', `/api/jobs/${id}/`, { token: member.access })).statusCode, 404);
    });

    it('revokes the members\' job subscriptions when the workspace is deleted; the submitter keeps the job', async () => {
        const [owner, member] = await Promise.all([t.user('owner'), t.user('member')]);
        const { workspaceId, id } = await runningJob(owner, member);
        const submitter = await watch(owner, id);
        const removed = await watch(member, id);
        const res = await t.call('DELETE', `/api/projects/workspaces/${workspaceId}/`, { token: owner.access });
        assert.equal(res.statusCode, 204, res.payload);
        await until(() => removed.revoked() !== undefined, 5000, 'the revoke');
        await print(id, 'after\n');
        await until(() => submitter.outputs().length === 1, 5000, 'the submitter to get the output');
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.deepEqual(removed.outputs(), []);
        assert.equal(submitter.revoked(), undefined);
    });

    it('ends the job subscriptions of a deactivated account with its sockets, leaving no relay listener', async () => {
        await Promise.all(clients.splice(0).map((client) => client.disconnect()));
        const [owner, member] = await Promise.all([t.user('owner'), t.user('member')]);
        const { id } = await runningJob(owner, member);
        const removed = await watch(member, id);
        assert.equal(await subscribers(id), 1);
        const res = await t.call('PATCH', `/api/admin/users/${member.id}/`, { token: admin.access, payload: { is_active: false } });
        assert.equal(res.statusCode, 200, res.payload);
        await until(() => removed.closed(), 5000, 'the socket to close');
        await print(id, 'after\n');
        await until(async () => (await subscribers(id)) === 0, 5000, 'the relay to unsubscribe');
        assert.deepEqual(removed.outputs(), []);
        await until(() => t.server.plugins['collab-jobs'].relay.size === 0, 5000, 'no relay listener');
    });
});
