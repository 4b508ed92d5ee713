import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { jobKeys } from '@collab/core';
import { Redis } from 'ioredis';
import WebSocket from 'ws';

import { readScript } from '../../packages/core/src/bus/scripts.js';
import { busKeys } from '../../packages/core/src/bus/keys.js';
import { REDIS_URL } from '../helpers/config.js';
import { createTestDatabase, onPglite, type TestDatabase } from '../helpers/database.js';
import { cleanRedis } from '../helpers/server.js';
import { makeTeam, startServer, until, type RealtimeServer, type Team } from './helpers.js';
import { clusterEnv, startInstance, type Instance } from './processes.js';

/** How a raw nes client leaves: at a hook's signal (or the reply, if no hook fired), right after sending, after `ms`, or once the reply came. */
type Drop = { at: 'hook' } | { at: 'sent' } | { at: 'delay'; ms: number } | { at: 'reply' };

/**
 * Opens a raw nes socket, says hello, sends one `sub` and drops the socket
 * (terminate or close) as `drop` says. With `{at: 'hook'}`, `armed.pull`
 * drops it while the sub is in flight, for hooks inside the server to pull.
 */
async function subscribeAndDrop(port: number, token: string, path: string, drop: Drop, how: 'terminate' | 'close', armed: { pull?: () => void }): Promise<boolean> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    ws.on('error', () => undefined);
    const replies: Array<{ type: string; id?: number }> = [];
    const wake = new Set<() => void>();
    ws.on('message', (data) => {
        replies.push(JSON.parse(String(data)) as { type: string; id?: number });
        for (const resolve of wake) {
            resolve();
        }
    });
    let gone = false;
    ws.once('close', () => {
        gone = true;
        for (const resolve of wake) {
            resolve();
        }
    });
    const reply = (id: number) => new Promise<void>((resolve) => {
        const check = () => {
            if (gone || replies.some((r) => r.id === id)) {
                wake.delete(check);
                resolve();
            }
        };
        wake.add(check);
        check();
    });
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    const deadline = setTimeout(() => ws.terminate(), 15_000);
    const leave = () => ws[how]();
    await new Promise<void>((resolve) => {
        ws.once('open', () => resolve());
        ws.once('close', () => resolve());
    });
    ws.send(JSON.stringify({ type: 'hello', id: 1, version: '2', auth: { headers: { authorization: `Bearer ${token}` } } }));
    await reply(1);
    armed.pull = drop.at === 'hook' ? leave : undefined;
    ws.send(JSON.stringify({ type: 'sub', id: 2, path }));
    if (drop.at === 'sent') {
        leave();
    }
    else if (drop.at === 'delay') {
        setTimeout(leave, drop.ms);
    }
    else {
        await reply(2);
        leave();
    }

    const timer = setTimeout(() => ws.terminate(), 5000);
    await closed;
    clearTimeout(timer);
    clearTimeout(deadline);
    armed.pull = undefined;
    return replies.some((r) => r.type === 'hello' && r.id === 1);
}

/** Every way to drop, for one path: at the hook, right after sending, after 0–15 ms, after the reply; closed and cut. */
function drops(): Drop[] {
    return [{ at: 'hook' }, { at: 'sent' }, ...[0, 1, 2, 4, 8, 15].map((ms) => ({ at: 'delay' as const, ms })), { at: 'reply' }];
}

async function insertRunningJob(db: TestDatabase['db'], userId: number, workspaceId: number): Promise<string> {
    const id = `job_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    await db('jobs').insert({ id, user_id: userId, workspace_id: workspaceId, language: 'python', code: 'print(1)', timeout_ms: 10_000, memory_mb: 64, status: 'running', attempts: 1 });
    return id;
}

describe('sockets that drop in the middle of a subscribe, a resume or a job subscription', () => {
    let t: RealtimeServer;
    let team: Team;
    let jobId: string;
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    const armed: { pull?: () => void } = {};
    const hits = { relay: 0, page: 0 };
    const restore: Array<() => void> = [];

    before(async () => {
        process.on('unhandledRejection', onRejection);
        process.on('uncaughtException', onRejection);
        t = await startServer();
        team = await makeTeam(t);
        for (let i = 0; i < 250; i++) {
            await t.server.app.bus.publish(team.workspaceId, { event: 'n', payload: i, user: team.owner.email, user_id: team.owner.id });
        }

        jobId = await insertRunningJob(t.database.db, team.owner.id, team.workspaceId);

        // Hooks that drop the client at the server's inner steps: between relay.subscribe and the status read,
        // and after each page of a resume.
        const relay = t.server.plugins['collab-jobs'].relay;
        const subscribe = relay.subscribe;
        relay.subscribe = async function (this: typeof relay, ...args: Parameters<typeof relay.subscribe>) {
            const stop = await subscribe.apply(relay, args);
            hits.relay += armed.pull ? 1 : 0;
            armed.pull?.();
            return stop;
        };
        restore.push(() => { relay.subscribe = subscribe; });
        const redis = t.server.app.bus.redis as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> };
        const evalsha = redis.evalsha;
        const log = busKeys(t.config.redisPrefix).log(team.workspaceId);
        redis.evalsha = async function (...args: unknown[]) {
            const reply = await evalsha.apply(redis, args);
            if (args[0] === readScript.sha && args[3] === log && Number(args.at(-1)) > 0) {
                hits.page += armed.pull ? 1 : 0;
                armed.pull?.();
            }

            return reply;
        };
        restore.push(() => { redis.evalsha = evalsha; });
    });
    after(async () => {
        restore.forEach((undo) => undo());
        await t.stop();
        process.off('unhandledRejection', onRejection);
        process.off('uncaughtException', onRejection);
    });

    it('leaves no topic, group, resume, relay listener, channel or presence behind, and nothing unhandled', async () => {
        const paths = [`/workspaces/${team.workspaceId}`, `/workspaces/${team.workspaceId}/since/0`, `/workspaces/${team.workspaceId}/since/120`, `/jobs/${jobId}`];
        for (let round = 0; round < 3; round++) {
            for (const path of paths) {
                await subscribeAndDrop(t.port, team.viewer.access, path, { at: 'hook' }, round % 2 ? 'close' : 'terminate', armed);
            }

            for (const drop of drops().filter((d) => d.at !== 'hook')) {
                const helloed = await Promise.all(paths.flatMap((path) => [
                    subscribeAndDrop(t.port, team.viewer.access, path, drop, 'terminate', {}),
                    subscribeAndDrop(t.port, team.collaborator.access, path, drop, 'close', {})
                ]));
                assert.ok(helloed.every(Boolean), 'every socket got as far as its subscribe');
            }
        }

        const realtime = t.server.plugins['collab-realtime'];
        const relay = t.server.plugins['collab-jobs'].relay;
        await until(() => realtime.sockets().nes === 0 && realtime.hub.connections().length === 0, 10_000, 'every socket to be gone');
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(rejections, []);
        assert.ok(hits.relay >= 3 && hits.page >= 3, `the hooks ran (${JSON.stringify(hits)})`);
        await until(() => realtime.hub.census().replaying === 0 && realtime.hub.census().topics === 0 && relay.size === 0, 10_000, 'replays and listeners to end');
        assert.deepEqual(realtime.hub.census(), { connections: 0, topics: 0, groups: 0, resumed: 0, replaying: 0 });
        assert.equal(relay.size, 0);
        await until(async () => (await t.server.app.bus.redis.pubsub('CHANNELS', `${t.config.redisPrefix}*`) as string[])
            .filter((channel) => !channel.endsWith('bus:control')).length === 0, 10_000, 'no Redis channel but the control one');
        await until(async () => (await t.server.app.presence.list(team.workspaceId)).length === 0, 10_000, 'presence to be empty');
        assert.deepEqual(rejections, []);
    });
});

describe('a collab-server process whose clients drop in the middle of job and workspace subscriptions', { skip: onPglite && 'needs PostgreSQL' }, () => {
    let database: TestDatabase;
    let env: Record<string, string>;
    let server: Instance;
    let team: Team;
    let jobId: string;
    let redis: Redis;

    before(async () => {
        database = await createTestDatabase();
        env = clusterEnv(database.url!);
        server = await startInstance(env);
        team = await makeTeam(server);
        for (let i = 0; i < 3; i++) {
            await server.http('POST', `/api/projects/workspaces/${team.workspaceId}/events/`, team.owner.access, { event: 'n', payload: i });
        }

        jobId = await insertRunningJob(database.db, team.owner.id, team.workspaceId);
        redis = new Redis(REDIS_URL);
    });
    after(async () => {
        await server?.stop();
        redis?.disconnect();
        await cleanRedis(env.REDIS_PREFIX!);
        await database?.drop();
    });

    it('stays up and keeps no job or workspace channel subscribed', async () => {
        const paths = [`/jobs/${jobId}`, `/workspaces/${team.workspaceId}/since/0`, `/workspaces/${team.workspaceId}`];
        let admitted = 0;
        for (let round = 0; round < 4; round++) {
            for (const drop of drops().filter((d) => d.at !== 'hook')) {
                const helloed = await Promise.all(paths.flatMap((path) => [
                    subscribeAndDrop(server.port, team.viewer.access, path, drop, 'terminate', {}),
                    subscribeAndDrop(server.port, team.collaborator.access, path, drop, 'close', {})
                ]));
                admitted += helloed.filter(Boolean).length;
            }

            assert.equal(server.child.exitCode, null, 'collab-server exited');
        }

        assert.equal(admitted, 4 * 8 * paths.length * 2, 'every socket got as far as its subscribe');

        assert.equal((await server.http('GET', '/healthz')).statusCode, 200);
        const prefix = env.REDIS_PREFIX!;
        await until(async () => (await redis.pubsub('CHANNELS', `${prefix}*`) as string[]).filter((channel) => channel.startsWith(jobKeys(prefix).updatesPrefix) || channel.startsWith(busKeys(prefix).channelPrefix)).length === 0, 10_000, 'no job or workspace channel subscribed');
        assert.equal(server.child.exitCode, null);
        assert.equal(server.child.signalCode, null);
    });
});
