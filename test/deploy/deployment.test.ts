import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { CollabClient, type EventEnvelope } from '@collab/sdk';
import { isTerminal, JOB_EVENTS, type Job } from '@collab/protocol';
import WebSocket from 'ws';

import { createRedis, jobKeys, loadConfig } from '@collab/core';

import { presenceKeys } from '../../packages/core/src/bus/keys.js';
import { createTestDatabase, onPglite, type TestDatabase } from '../helpers/database.js';
import { assertNothingSkipped } from '../helpers/delivery.js';
import { Nginx } from '../helpers/nginx.js';
import { run, type Child } from '../helpers/process.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { until } from '../helpers/wait.js';
import { clusterEnv, startInstance, type Instance } from '../realtime/processes.js';

const WORKER_BIN = fileURLToPath(new URL('../../packages/worker/src/bin.ts', import.meta.url));
const privateTmp = mkdtempSync(join(tmpdir(), 'collab-deploy-test-'));
chmodSync(privateTmp, 0o711);
after(() => rmSync(privateTmp, { recursive: true, force: true }));

const PRESENCE_TTL_MS = 3_000;

interface Frame extends EventEnvelope {
    payload: Record<string, unknown>;
}

/**
 * A plain WebSocket client through nginx that, when told to, reconnects
 * after any close and resumes after the last seq it saw (`since` + `epoch`).
 */
class PlainFollower {
    readonly frames: Frame[] = [];
    closes = 0;
    #ws: WebSocket | undefined;
    #stopped = false;

    constructor(private readonly url: string, private readonly token: string, private readonly reconnect: boolean) {}

    get events(): Frame[] {
        return this.frames.filter((frame) => frame.seq !== undefined);
    }

    get open(): boolean {
        return this.#ws?.readyState === WebSocket.OPEN;
    }

    connect(): Promise<void> {
        const last = this.events.at(-1);
        const query = last ? `&since=${last.seq}&epoch=${last.epoch}` : '';
        const ws = new WebSocket(`${this.url}?token=${encodeURIComponent(this.token)}${query}`);
        this.#ws = ws;
        ws.on('message', (data) => this.frames.push(JSON.parse(data.toString()) as Frame));
        ws.on('error', () => undefined);
        ws.on('close', () => {
            this.closes++;
            if (this.reconnect && !this.#stopped) {
                setTimeout(() => this.connect().catch(() => undefined), 100 + Math.random() * 400);
            }
        });
        return new Promise((resolve, reject) => {
            ws.once('open', () => resolve());
            ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
        });
    }

    stop(): void {
        this.#stopped = true;
        this.#ws?.terminate();
    }
}

describe('nginx in front of 3 instances and 2 workers on a 3-master Redis Cluster', { skip: onPglite && 'needs PostgreSQL', timeout: 300_000 }, () => {
    let cluster: RedisCluster;
    let database: TestDatabase;
    let env: Record<string, string>;
    let instances: Instance[];
    let workers: Child[];
    let nginx: Nginx;
    const sdks: CollabClient[] = [];
    const plains: PlainFollower[] = [];

    const api = async (method: string, path: string, token?: string, payload?: unknown) => {
        const res = await fetch(`${nginx.url}${path}`, {
            method,
            headers: { ...token ? { authorization: `Bearer ${token}` } : {}, ...payload === undefined ? {} : { 'content-type': 'application/json' } },
            body: payload === undefined ? undefined : JSON.stringify(payload)
        });
        const text = await res.text();
        // nginx's own error pages (502 while an instance is dying) are HTML.
        const json = res.headers.get('content-type')?.includes('application/json');
        return { status: res.status, body: json ? JSON.parse(text) as unknown : text };
    };

    /** Retried while a part is down (502/503), as a client would. */
    const retried = async (method: string, path: string, token: string, payload: unknown, expected: number) => {
        for (;;) {
            const res = await api(method, path, token, payload);
            if (res.status === expected) {
                return res.body;
            }

            assert.ok([502, 503].includes(res.status), `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    };

    const spawnWorker = () => run(process.execPath, ['--conditions=source', '--import', 'tsx', WORKER_BIN], {
        env: { ...process.env, ...env, COLLAB_SANDBOX: 'bwrap', WORKER_CONCURRENCY: '2', WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '500', TMPDIR: privateTmp }
    });

    before(async () => {
        cluster = await RedisCluster.start();
        database = await createTestDatabase();
        env = clusterEnv(database.url!, { REDIS_CLUSTER_NODES: cluster.nodes, TRUSTED_PROXIES: '127.0.0.1', PRESENCE_TTL_MS: String(PRESENCE_TTL_MS) });
        instances = await Promise.all([startInstance(env), startInstance(env), startInstance(env)]);
        workers = [spawnWorker(), spawnWorker()];
        nginx = await Nginx.start(instances.map((instance) => instance.port));
    });

    after(async () => {
        plains.forEach((client) => client.stop());
        await Promise.all(sdks.map((client) => client.realtime.close()));
        await nginx?.stop();
        await Promise.all((instances ?? []).map((instance) => instance.stop()));
        await Promise.all((workers ?? []).map(async (worker) => {
            if (worker.process.exitCode === null && worker.process.signalCode === null) {
                worker.process.kill('SIGTERM');
            }

            await worker.exited;
        }));
        await database?.drop();
        await cluster?.stop();
    });

    it('survives SIGKILL of an instance, a worker and a Redis master: clients resume or are told, jobs end once, presence clears', async () => {
        // People, a project and a workspace, all through nginx.
        const signUp = async (name: string) => {
            const email = `${name}-${Math.random().toString(36).slice(2, 8)}@example.com`;
            const password = 'correct horse battery';
            const { id } = await retried('POST', '/api/auth/register/', '', { email, password, name }, 201) as { id: number };
            const tokens = await retried('POST', '/api/auth/login/', '', { email, password }, 200) as { access: string; refresh: string };
            return { id, email, ...tokens };
        };

        const owner = await signUp('owner');
        const { id: projectId } = await retried('POST', '/api/projects/projects/', owner.access, { name: 'Deploy' }, 201) as { id: number };
        const { id: workspaceId } = await retried('POST', `/api/projects/projects/${projectId}/workspaces/`, owner.access, { name: 'live' }, 201) as { id: number };
        const members = await Promise.all(Array.from({ length: 12 }, (_, i) => signUp(`member${i}`)));
        for (const member of members) {
            await retried('POST', `/api/projects/projects/${projectId}/members/`, owner.access, { user_id: member.id, role: 'collaborator' }, 201);
        }

        await until(async () => JSON.stringify((await api('GET', '/api/jobs/languages/', owner.access)).body).includes('python'), 30_000, 'the workers to advertise');

        // Six plain sockets (three reconnect, three are abandoned when their socket drops) and six SDK (nes) clients.
        const wsUrl = `ws://127.0.0.1:${nginx.port}/ws/workspaces/${workspaceId}/`;
        for (let i = 0; i < 6; i++) {
            const follower = new PlainFollower(wsUrl, members[i]!.access, i < 3);
            plains.push(follower);
            await follower.connect();
        }

        const sdkFrames: Frame[][] = [];
        for (let i = 6; i < 12; i++) {
            const client = new CollabClient({ baseUrl: nginx.url, token: members[i]!.access, refreshToken: members[i]!.refresh, WebSocket });
            sdks.push(client);
            const frames: Frame[] = [];
            sdkFrames.push(frames);
            await client.realtime.subscribe(workspaceId, (event) => frames.push(event as Frame));
        }

        const presence = async () => ((await api('GET', `/api/projects/workspaces/${workspaceId}/presence/`, owner.access)).body as Array<{ user_id: number }>).map((entry) => entry.user_id);
        await until(async () => (await presence()).length === 12, 15_000, 'all twelve members present');

        // Events and jobs flow through nginx the whole time.
        const accepted: number[] = [];
        let sending = true;
        const sender = (async () => {
            for (let i = 0; sending; i++) {
                await retried('POST', `/api/projects/workspaces/${workspaceId}/events/`, owner.access, { event: 'beat', payload: { i } }, 202);
                accepted.push(i);
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
        })();
        const jobs: string[] = [];
        const submit = async () => {
            const { job_id } = await retried('POST', '/api/jobs/submit/', owner.access, { language: 'python', code: 'import time\ntime.sleep(0.5)\nprint("done")', workspace_id: workspaceId }, 202) as { job_id: string };
            jobs.push(job_id);
        };

        for (let i = 0; i < 6; i++) {
            await submit();
        }

        await until(() => accepted.length >= 20, 30_000, 'events before the kills');

        // SIGKILL one instance (one that holds an abandoned socket), one worker and the Redis master of the job queue, at once.
        const redis = createRedis(loadConfig(env));
        const fields = Object.keys(await redis.hgetall(presenceKeys(env.REDIS_PREFIX!).connections(workspaceId)));
        redis.disconnect();
        const abandonedIds = new Set(members.slice(3, 6).map((member) => String(member.id)));
        const holder = fields.map((field) => field.split('|')).find(([, user]) => abandonedIds.has(user!))![0]!;
        const victim = instances.find((instance) => holder.startsWith(`${instance.instance}.`))!;
        assert.ok(victim, `no instance holds ${holder}`);
        const queueMaster = await cluster.masterOf(`${jobKeys(env.REDIS_PREFIX!, true).bullPrefix}:jobs:wait`);
        workers[0]!.process.kill('SIGKILL');
        await Promise.all([victim.kill(), cluster.killMaster(queueMaster), workers[0]!.exited]);
        for (let i = 0; i < 6; i++) {
            await submit();
        }

        const afterKills = accepted.length;
        await until(() => accepted.length >= afterKills + 30, 60_000, 'events after the kills');
        sending = false;
        await sender;
        const last = accepted.at(-1)!;

        // Everyone who reconnects is back, through nginx, and has the last event.
        const reconnecting = [...plains.slice(0, 3).map((follower) => follower.frames), ...sdkFrames];
        await until(() => reconnecting.every((frames) => frames.some((frame) => frame.event === 'beat' && frame.payload.i === last)), 60_000, 'the last event on every reconnecting client');
        const current = (await api('GET', `/api/projects/workspaces/${workspaceId}/events/?limit=200`, owner.access)).body as Frame[];
        const stored = current.filter((frame) => frame.event === 'beat').map((frame) => frame.payload.i as number);
        reconnecting.forEach((frames, n) => {
            const who = n < 3 ? `plain client ${n}` : `SDK client ${n - 3}`;
            const events = frames.filter((frame) => frame.seq !== undefined);
            assertNothingSkipped(events, who);
            const received = new Set(events.filter((frame) => frame.event === 'beat').map((frame) => frame.payload.i as number));
            assert.deepEqual(stored.filter((i) => !received.has(i)), [], `${who} missed events of the current epoch`);
            const missing = accepted.filter((i) => !received.has(i));
            assert.ok(missing.length === 0 || new Set(events.map((frame) => frame.epoch)).size > 1, `${who} missed ${JSON.stringify(missing)} within one epoch`);
        });

        // Every job ends exactly once, on the surviving worker if its first one died.
        const rows = await until(async () => {
            const all = await Promise.all(jobs.map(async (id) => (await api('GET', `/api/jobs/${id}/`, owner.access)).body as Job));
            return all.every((job) => isTerminal(job.status)) && all;
        }, 120_000, 'every job to end');
        for (const job of rows) {
            assert.equal(job.status, 'succeeded', JSON.stringify(job));
            assert.equal(job.stdout, 'done\n');
        }

        for (const frames of reconnecting) {
            for (const id of jobs) {
                assert.ok(frames.filter((frame) => frame.event === JOB_EVENTS.finished && frame.payload.job_id === id).length <= 1, `job ${id} finished twice`);
            }
        }

        // The abandoned sockets that were on the dead instance leave presence; everyone else stays.
        const abandoned = plains.slice(3);
        const gone = members.slice(3, 6).filter((_, i) => abandoned[i]!.closes > 0).map((member) => member.id);
        assert.ok(gone.length > 0, 'an abandoned socket was on the dead instance');
        const staying = members.filter((member) => !gone.includes(member.id)).map((member) => member.id);
        await until(async () => {
            const present = await presence();
            return gone.every((id) => !present.includes(id)) && staying.every((id) => present.includes(id));
        }, 30_000, `presence without ${JSON.stringify(gone)}`);
    });
});
