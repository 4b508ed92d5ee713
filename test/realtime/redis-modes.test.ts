import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Redis } from 'ioredis';
import type { Job } from '@collab/protocol';
import { createRedis, jobKeys, type Config } from '@collab/core';
import type { WorkerHandle } from '@collab/worker';

import { busKeys } from '../../packages/core/src/bus/keys.js';

import { testConfig } from '../helpers/config.js';
import type { TestDatabase } from '../helpers/database.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { cleanRedis } from '../helpers/server.js';
import { nesClient, nesSubscribe, plainClient, startServer, until, type Frame, type NesClientType, type PlainClient, type RealtimeServer, type Team } from './helpers.js';
import { startWorkingPair, type WorkingPair } from './working-pair.js';

// This file's job directories stay out of the shared tmp (sandbox.test.ts counts collab-job-* there);
// traversable (0711): the sandbox, as nobody, binds a directory inside it.
const privateTmp = mkdtempSync(join(tmpdir(), 'collab-modes-test-'));
chmodSync(privateTmp, 0o711);
process.env.TMPDIR = privateTmp;
after(() => rmSync(privateTmp, { recursive: true, force: true }));

/** The Redis a suite runs on: the shared one, or a private cluster it owns. */
interface Mode {
    name: string;
    start(): Promise<{ env: Record<string, string>; cluster?: RedisCluster }>;
}

const modes: Mode[] = [
    { name: 'one Redis', start: async () => ({ env: {} }) },
    {
        name: 'a Redis Cluster (3 masters, 1 replica each)',
        start: async () => {
            const cluster = await RedisCluster.start();
            return { env: { REDIS_CLUSTER_NODES: cluster.nodes }, cluster };
        }
    }
];

for (const mode of modes) {
    describe(`two servers and a worker on ${mode.name}`, { timeout: 180_000 }, () => {
        let cluster: RedisCluster | undefined;
        let env: Record<string, string>;
        let config: Config;
        let database: TestDatabase;
        let a: RealtimeServer;
        let b: RealtimeServer;
        let worker: WorkerHandle;
        let team: Team;
        let pair: WorkingPair;
        const plains: PlainClient[] = [];
        const nes: NesClientType[] = [];
        const events = (workspaceId = team.workspaceId) => `/api/projects/workspaces/${workspaceId}/events/`;
        const plain = (at: RealtimeServer, token: string, query?: string) => {
            const client = plainClient(at.port, team.workspaceId, token, { query });
            plains.push(client);
            return client;
        };

        const nesAt = async (at: RealtimeServer, token: string) => {
            const client = await nesClient(at.port, token);
            nes.push(client);
            return client;
        };

        before(async () => {
            const started = await mode.start();
            ({ cluster, env } = started);
            config = testConfig(env);
            pair = await startWorkingPair(config);
            ({ database, a, b, worker, team } = pair);
        });

        after(async () => {
            plains.forEach((client) => client.ws.terminate());
            await Promise.all(nes.map((client) => client.disconnect()));
            await pair?.stop();
            await cluster?.stop();
            await cleanRedis(config.redisPrefix);
        });

        it('delivers events sent on either instance and either transport to both, in seq order', async () => {
            const watcher = await nesAt(a, team.owner.access);
            const viaNes = await nesSubscribe(watcher, `/workspaces/${team.workspaceId}`);
            const onB = plain(b, team.collaborator.access);
            await onB.opened;
            for (let i = 0; i < 10; i++) {
                if (i % 2 === 0) {
                    assert.equal((await a.http('POST', events(), team.owner.access, { event: 'tick', payload: { i } })).statusCode, 202);
                }
                else {
                    onB.send({ event: 'tick', payload: { i } });
                    await onB.next((frame) => frame.event === 'tick' && frame.payload.i === i);
                }
            }

            await until(() => viaNes.messages.filter((frame) => frame.event === 'tick').length === 10 && onB.events().length === 10);
            const ticks = (frames: Frame[]) => frames.filter((frame) => frame.event === 'tick').map((frame) => [frame.seq, frame.payload.i]);
            const expected = Array.from({ length: 10 }, (_, i) => [i + 1, i]);
            assert.deepEqual(ticks(viaNes.messages), expected);
            assert.deepEqual(ticks(onB.events()), expected);
        });

        it('fans a workspace out on its own shard only (sharded pub/sub on a cluster)', async () => {
            const onA = plain(a, team.owner.access);
            await onA.opened;
            const channel = busKeys(config.redisPrefix).channel(team.workspaceId);
            if (!cluster) {
                const redis = new Redis(config.redisUrl);
                try {
                    await until(async () => (await redis.pubsub('CHANNELS', channel) as string[]).includes(channel));
                }
                finally {
                    redis.disconnect();
                }

                return;
            }

            const owner = await cluster.masterOf(channel);
            const { masters } = await cluster.topology();
            for (const port of masters) {
                const node = new Redis({ port, host: '127.0.0.1' });
                try {
                    const sharded = await node.call('PUBSUB', 'SHARDCHANNELS', `${config.redisPrefix}*`) as string[];
                    const plainChannels = await node.pubsub('CHANNELS', `${config.redisPrefix}bus:{ws:*`) as string[];
                    assert.deepEqual(sharded.includes(channel), port === owner, `node ${port}: ${JSON.stringify(sharded)}`);
                    assert.deepEqual(plainChannels, [], 'no workspace channel on plain pub/sub');
                }
                finally {
                    node.disconnect();
                }
            }
        });

        it('resumes a plain socket after a seq, on the other instance, with nothing lost or repeated', async () => {
            const first = plain(a, team.owner.access);
            await first.opened;
            await a.http('POST', events(), team.owner.access, { event: 'before', payload: {} });
            const { seq, epoch } = await first.next((frame) => frame.event === 'before') as { seq: number; epoch: string };
            first.close();
            for (let i = 0; i < 3; i++) {
                await b.http('POST', events(), team.owner.access, { event: 'missed', payload: { i } });
            }

            const resumed = plain(b, team.owner.access, `since=${seq}&epoch=${epoch}`);
            await until(() => resumed.events().length === 3);
            await a.http('POST', events(), team.owner.access, { event: 'live', payload: {} });
            await until(() => resumed.events().length === 4);
            assert.deepEqual(resumed.events().map((frame) => [frame.event, frame.seq]), [['missed', seq + 1], ['missed', seq + 2], ['missed', seq + 3], ['live', seq + 4]]);
            assert.ok(!resumed.frames.some((frame) => frame.event === 'resync'));

            const history = await b.http('GET', `${events()}?after=${seq}&epoch=${epoch}`, team.owner.access);
            assert.equal(history.statusCode, 200);
            const stale = await b.http('GET', `${events()}?after=${seq}&epoch=not-the-epoch`, team.owner.access);
            assert.equal(stale.statusCode, 409);
        });

        it('shows presence across instances and clears it when the user leaves', async () => {
            const watcher = plain(a, team.owner.access);
            await watcher.opened;
            const from = watcher.frames.length;
            const viewer = plain(b, team.viewer.access);
            await viewer.opened;
            await watcher.next((frame) => frame.event === 'presence.join' && frame.user_id === team.viewer.id, 5000, from);
            const listed = await a.http('GET', `/api/projects/workspaces/${team.workspaceId}/presence/`, team.owner.access);
            assert.ok((listed.result as Array<{ user_id: number }>).some((entry) => entry.user_id === team.viewer.id));

            viewer.close();
            await watcher.next((frame) => frame.event === 'presence.leave' && frame.user_id === team.viewer.id, 5000, from);
            const after = await b.http('GET', `/api/projects/workspaces/${team.workspaceId}/presence/`, team.owner.access);
            assert.ok(!(after.result as Array<{ user_id: number }>).some((entry) => entry.user_id === team.viewer.id));
        });

        it('lists both instances\' sockets and the live worker in the admin stats (single-slot registries)', async () => {
            const admin = await a.user('admin');
            await database.db('users').where({ id: admin.id }).update({ is_admin: true });
            const onA = plain(a, team.owner.access);
            const onB = plain(b, team.collaborator.access);
            await Promise.all([onA.opened, onB.opened]);
            const stats = await until(async () => {
                const res = await b.http('GET', '/api/admin/stats/', admin.access);
                const body = res.result as { sockets: Record<string, number>; workers: Array<{ id: string }> };
                return res.statusCode === 200 && (body.sockets[a.server.app.instanceId] ?? 0) > 0 && (body.sockets[b.server.app.instanceId] ?? 0) > 0 && body;
            }, 15_000, 'both instances in the socket census');
            assert.deepEqual(stats.workers.map((entry) => entry.id), [worker.id]);
        });

        it('counts the login rate limit across instances', async () => {
            const limited = testConfig({ ...env, RATE_LIMIT_AUTH: '3' });
            const [c, d] = await Promise.all([startServer({ config: limited, database }), startServer({ config: limited, database })]);
            try {
                const statuses: number[] = [];
                for (const at of [c, d, c, d, c]) {
                    statuses.push((await at.http('POST', '/api/auth/login/', undefined, { email: 'nobody@example.com', password: 'wrong password' })).statusCode);
                }

                assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
            }
            finally {
                await Promise.all([c.stop(), d.stop()]);
                await cleanRedis(limited.redisPrefix);
            }
        });

        it('runs a job to exactly one terminal status, with its updates on the other instance', async () => {
            const submitted = await a.http('POST', '/api/jobs/submit/', team.owner.access, { language: 'python', code: 'print(6 * 7)', workspace_id: team.workspaceId });
            assert.equal(submitted.statusCode, 202, JSON.stringify(submitted.result));
            const id = (submitted.result as { job_id: string }).job_id;
            const watcher = await nesAt(b, team.owner.access);
            const updates = await nesSubscribe(watcher, `/jobs/${id}`);
            const job = await until(async () => {
                const row = (await b.http('GET', `/api/jobs/${id}/`, team.owner.access)).result as Job;
                return !['queued', 'running'].includes(row.status) && row;
            }, 60_000, `job ${id} to end`);
            assert.equal(job.status, 'succeeded');
            assert.equal(job.stdout, '42\n');
            assert.equal(job.attempts, 1);
            const received = updates.messages as unknown as Array<{ type: string; status: Job['status'] }>;
            const statuses = () => received.filter((message) => message.type === 'status').map((message) => message.status);
            await until(() => statuses().includes('succeeded'));
            assert.deepEqual([...new Set(statuses().filter((status) => !['queued', 'running'].includes(status)))], ['succeeded'], JSON.stringify(updates.messages));

            // BullMQ's keys are where the mode puts them: `{<prefix>bull}:jobs:*` (one slot) on a cluster.
            const redis = createRedis(config);
            try {
                assert.equal(await redis.exists(`${jobKeys(config.redisPrefix, cluster !== undefined).bullPrefix}:jobs:meta`), 1);
            }
            finally {
                redis.disconnect();
            }
        });
    });
}
