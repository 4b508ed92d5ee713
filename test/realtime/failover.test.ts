import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { isTerminal, JOB_EVENTS, type Job } from '@collab/protocol';
import { jobKeys, type Config } from '@collab/core';

import { busKeys } from '../../packages/core/src/bus/keys.js';
import { testConfig } from '../helpers/config.js';
import { onPglite } from '../helpers/database.js';
import { assertNothingSkipped } from '../helpers/delivery.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { cleanRedis } from '../helpers/server.js';
import { nesClient, nesSubscribe, plainClient, until, type Frame, type NesClientType, type PlainClient, type RealtimeServer, type Team } from './helpers.js';
import { startWorkingPair, type WorkingPair } from './working-pair.js';

const privateTmp = mkdtempSync(join(tmpdir(), 'collab-failover-test-'));
chmodSync(privateTmp, 0o711);
process.env.TMPDIR = privateTmp;
after(() => rmSync(privateTmp, { recursive: true, force: true }));

describe('a Redis Cluster master dies while servers, clients and a worker work', { skip: onPglite && 'needs PostgreSQL', timeout: 240_000 }, () => {
    let cluster: RedisCluster;
    let config: Config;
    let a: RealtimeServer;
    let b: RealtimeServer;
    let pair: WorkingPair;
    let team: Team;
    const plains: PlainClient[] = [];
    const nes: NesClientType[] = [];

    before(async () => {
        cluster = await RedisCluster.start();
        config = testConfig({ REDIS_CLUSTER_NODES: cluster.nodes, WORKER_LOCK_DURATION_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000' });
        pair = await startWorkingPair(config);
        ({ a, b, team } = pair);
    });

    after(async () => {
        plains.forEach((client) => client.ws.terminate());
        await Promise.all(nes.map((client) => client.disconnect()));
        await pair?.stop();
        await cluster?.stop();
        await cleanRedis(config.redisPrefix);
    });

    it('carries on without a restart: events delivered or announced through a new epoch, every job ends exactly once', async () => {
        // A workspace on the same shard as the job queue, so one kill hits both.
        const queueMaster = await cluster.masterOf(`${jobKeys(config.redisPrefix, true).bullPrefix}:jobs:wait`);
        let workspaceId = team.workspaceId;
        while (await cluster.masterOf(busKeys(config.redisPrefix).channel(workspaceId)) !== queueMaster) {
            const made = await a.http('POST', `/api/projects/projects/${team.projectId}/workspaces/`, team.owner.access, { name: `W${workspaceId}` });
            workspaceId = (made.result as { id: number }).id;
        }

        const events = `/api/projects/workspaces/${workspaceId}/events/`;
        const onA = plainClient(a.port, workspaceId, team.collaborator.access);
        plains.push(onA);
        await onA.opened;
        const client = await nesClient(b.port, team.owner.access);
        nes.push(client);
        const onB = await nesSubscribe(client, `/workspaces/${workspaceId}`);

        // Events go on through the failover, each retried (on either instance) until it is accepted.
        const accepted: number[] = [];
        const refused = new Map<number, number>();
        let sending = true;
        let afterFailover = -1;
        const sender = (async () => {
            for (let i = 0; sending || accepted.length < afterFailover + 20; i++) {
                for (;;) {
                    const at = i % 2 ? a : b;
                    const res = await at.http('POST', events, team.owner.access, { event: 'beat', payload: { i } });
                    if (res.statusCode === 202) {
                        accepted.push(i);
                        break;
                    }

                    assert.equal(res.statusCode, 503, JSON.stringify(res.result));
                    refused.set(res.statusCode, (refused.get(res.statusCode) ?? 0) + 1);
                    await new Promise((resolve) => setTimeout(resolve, 50));
                }
            }
        })();

        const submit = async () => {
            for (;;) {
                const res = await a.http('POST', '/api/jobs/submit/', team.owner.access, { language: 'python', code: 'import time\ntime.sleep(0.3)\nprint("done")', workspace_id: workspaceId });
                if (res.statusCode === 202) {
                    return (res.result as { job_id: string }).job_id;
                }

                assert.equal(res.statusCode, 503, JSON.stringify(res.result));
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        };

        const jobs: string[] = [];
        for (let i = 0; i < 4; i++) {
            jobs.push(await submit());
        }

        await until(() => accepted.length >= 20, 30_000, 'events before the failover');
        const promoted = await cluster.killMaster(queueMaster);
        assert.notEqual(promoted, queueMaster);
        afterFailover = accepted.length;
        for (let i = 0; i < 4; i++) {
            jobs.push(await submit());
        }

        sending = false;
        await sender;

        // The last accepted events reach both sockets; what they received never skips silently.
        const beats = (frames: Frame[]) => frames.filter((frame) => frame.event === 'beat');
        const last = accepted.at(-1)!;
        await until(() => beats(onA.events()).some((frame) => frame.payload.i === last) && beats(onB.messages).some((frame) => frame.payload.i === last), 30_000, 'the last event on both sockets');
        for (const [who, all] of [['plain on A', onA.events()], ['nes on B', onB.messages.filter((frame) => frame.seq !== undefined)]] as const) {
            assertNothingSkipped(all, who);
            const frames = beats(all);
            const received = new Set(frames.map((frame) => frame.payload.i as number));
            const missing = accepted.filter((i) => !received.has(i));
            const epochs = new Set(frames.map((frame) => frame.epoch));
            // The promoted replica may lack the last writes, so the workspace goes on in a new epoch, which clients see.
            assert.equal(epochs.size, 2, `${who} saw epochs ${JSON.stringify([...epochs])}`);
            // An event not received is allowed only when the epoch changed, which tells the client to reload.
            assert.ok(missing.length === 0 || epochs.size > 1, `${who} missed ${JSON.stringify(missing)} within one epoch`);
            const current = await b.http('GET', `${events}?limit=200`, team.owner.access);
            const stored = (current.result as Frame[]).filter((frame) => frame.event === 'beat').map((frame) => frame.payload.i as number);
            assert.deepEqual(stored.filter((i) => !received.has(i)), [], `${who} missed events of the current epoch`);
        }

        // Every job reaches exactly one terminal status, run once or retried, never lost.
        const rows = await until(async () => {
            const all = await Promise.all(jobs.map(async (id) => (await a.http('GET', `/api/jobs/${id}/`, team.owner.access)).result as Job));
            return all.every((job) => isTerminal(job.status)) && all;
        }, 120_000, 'every job to end');
        for (const job of rows) {
            assert.equal(job.status, 'succeeded', JSON.stringify(job));
            assert.equal(job.stdout, 'done\n');
        }

        const finished = onA.frames.filter((frame) => frame.event === JOB_EVENTS.finished);
        for (const id of jobs) {
            const ends = finished.filter((frame) => frame.payload.job_id === id);
            assert.ok(ends.length <= 1, `job ${id} finished ${ends.length} times: ${JSON.stringify(ends)}`);
        }

        // Both servers and the worker still work, unchanged.
        assert.equal((await a.http('GET', '/readyz')).statusCode, 200);
        assert.equal((await b.http('GET', '/readyz')).statusCode, 200);
    });
});
