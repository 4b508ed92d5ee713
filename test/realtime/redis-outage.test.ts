import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import { Redis } from 'ioredis';
import WebSocket from 'ws';

import { freePort } from '../helpers/process.js';
import { makeTeam, nesClient, nesSubscribe, plainClient, startServer, until, type NesClientType, type PlainClient, type RealtimeServer, type Team } from './helpers.js';

/** A throw-away redis-server without persistence, stopped by its PID. */
async function startRedis(port: number): Promise<ChildProcess> {
    const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
    probe.on('error', () => undefined);
    await probe.ping();
    probe.disconnect();
    return child;
}

async function stopRedis(child: ChildProcess | undefined): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) {
        return;
    }

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
}

describe('when Redis is unreachable', () => {
    let port: number;
    let redis: ChildProcess | undefined;
    let t: RealtimeServer;
    let team: Team;
    let plain: PlainClient;
    let nes: NesClientType;
    let feed: Awaited<ReturnType<typeof nesSubscribe>>;
    let events: string;

    before(async () => {
        port = await freePort();
        redis = await startRedis(port);
        t = await startServer({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
        team = await makeTeam(t);
        events = `/api/projects/workspaces/${team.workspaceId}/events/`;
        plain = plainClient(t.port, team.workspaceId, team.owner.access);
        await plain.opened;
        nes = await nesClient(t.port, team.collaborator.access);
        feed = await nesSubscribe(nes, `/workspaces/${team.workspaceId}`);
    });
    after(async () => {
        plain?.ws.terminate();
        await nes?.disconnect();
        await t?.stop();
        await stopRedis(redis);
    });

    it('works before the outage', async () => {
        assert.equal((await t.http('POST', events, team.owner.access, { event: 'before', payload: 1 })).statusCode, 202);
        await plain.next((f) => f.event === 'before');
        await until(() => feed.messages.some((m) => m.event === 'before'));
    });

    it('answers 503 to events, history and presence, quickly, and keeps sockets open', async () => {
        await stopRedis(redis);
        redis = undefined;
        const started = Date.now();
        const res = await t.http('POST', events, team.owner.access, { event: 'during', payload: 1 });
        assert.equal(res.statusCode, 503);
        assert.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);
        assert.equal((await t.http('GET', events, team.owner.access)).statusCode, 503);
        assert.equal((await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/presence/`, team.owner.access)).statusCode, 503);
        await assert.rejects(nes.request({ method: 'POST', path: events, payload: { event: 'during', payload: 2 } }), (err: { statusCode?: number }) => err.statusCode === 503);

        const from = plain.frames.length;
        plain.send({ event: 'during', payload: 3 });
        assert.equal((await plain.next((f) => f.event === 'error', 5000, from)).payload.code, 503);
        assert.equal(plain.ws.readyState, WebSocket.OPEN);
        assert.equal((await t.http('GET', '/healthz')).statusCode, 200);
        assert.equal((await t.http('GET', '/readyz')).statusCode, 503);
    });

    it('works again without a restart once Redis is back, on the sockets that stayed open', async () => {
        redis = await startRedis(port);
        await until(async () => (await t.http('POST', events, team.owner.access, { event: 'after', payload: 1 })).statusCode === 202, 15_000, 'events accepted again');
        const after = await plain.next((f) => f.event === 'after', 5000);
        await until(() => feed.messages.some((m) => m.event === 'after'), 5000, 'nes subscriber receives again');
        const before = plain.frames.find((f) => f.event === 'before')!;
        assert.notEqual(after.epoch, before.epoch, 'Redis lost the stream: a new epoch');
        plain.send({ event: 'typed', payload: 'back' });
        await plain.next((f) => f.event === 'typed');
        const presence = async () => ((await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/presence/`, team.owner.access)).result as Array<{ user_id: number }> | null) ?? [];
        await until(async () => (await presence()).length === 2, 15_000, 'presence counted again');
    });
});
