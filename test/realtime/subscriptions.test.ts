import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { CloseCode } from '@collab/protocol';

import { busKeys } from '../../packages/core/src/bus/keys.js';
import { readScript } from '../../packages/core/src/bus/scripts.js';
import { Connection } from '../../packages/server/src/realtime/connection.js';
import { makeTeam, nesClient, plainClient, startServer, until, type NesClientType, type PlainClient, type RealtimeServer, type Team } from './helpers.js';

const KiB = 1024;

/** Counts the reads of a workspace's stream (the read script, one XRANGE each) a server makes, and the events they return. */
function countReads(t: RealtimeServer, workspaceId: number) {
    const counts = { reads: 0, events: 0 };
    const log = busKeys(t.config.redisPrefix).log(workspaceId);
    const redis = t.server.app.bus.redis as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> };
    const evalsha = redis.evalsha.bind(redis);
    redis.evalsha = async (...args: unknown[]) => {
        const reply = await evalsha(...args);
        if (args[0] === readScript.sha && args[3] === log) {
            counts.reads++;
            counts.events += (reply as [unknown, unknown, unknown[]])[2].length;
        }

        return reply;
    };
    return { counts, restore: () => { redis.evalsha = evalsha; } };
}

describe('subscriptions per socket', () => {
    let t: RealtimeServer;
    let team: Team;
    let workspaces: number[];
    const clients: NesClientType[] = [];
    const plains: PlainClient[] = [];
    const connect = async (token: string) => {
        const client = await nesClient(t.port, token);
        clients.push(client);
        return client;
    };

    const hub = () => t.server.plugins['collab-realtime'].hub;
    const send = (workspaceId: number, payload: unknown) => t.http('POST', `/api/projects/workspaces/${workspaceId}/events/`, team.owner.access, { event: 'n', payload });

    before(async () => {
        t = await startServer({ realtime: { maxBufferedBytes: 64 * KiB } });
        team = await makeTeam(t);
        workspaces = [team.workspaceId];
        for (let i = 1; i < 40; i++) {
            const res = await t.http('POST', `/api/projects/projects/${team.projectId}/workspaces/`, team.owner.access, { name: `W${i}` });
            workspaces.push((res.result as { id: number }).id);
        }
    });
    after(async () => {
        await Promise.all(clients.map((client) => client.disconnect()));
        plains.forEach((client) => client.ws.terminate());
        await t.stop();
    });

    it('refuses the 33rd subscription of a socket with 429 and keeps the socket working', async () => {
        const client = await connect(team.viewer.access);
        const received: unknown[] = [];
        const codes: number[] = [];
        for (const id of workspaces) {
            await client.subscribe(`/workspaces/${id}`, (message) => received.push(message)).then(
                () => codes.push(200),
                (err: { statusCode: number }) => codes.push(err.statusCode)
            );
        }

        assert.deepEqual(codes, [...Array(32).fill(200), ...Array(8).fill(429)]);
        assert.equal(hub().connectionsOf(team.viewer.id)[0]!.subscriptions.size, 32);
        await send(workspaces[0]!, 'still here');
        await until(() => received.some((m) => (m as { payload?: unknown }).payload === 'still here'), 5000, 'an event on a kept subscription');
        await client.unsubscribe(`/workspaces/${workspaces[0]}`);
        await client.subscribe(`/workspaces/${workspaces[39]}`, () => undefined);
        await assert.rejects(client.subscribe(`/workspaces/${workspaces[38]}/since/0`, () => undefined), (err: { statusCode?: number }) => err.statusCode === 429);
        await client.disconnect();
    });

    it('admits exactly 32 of 40 subscriptions sent at once', async () => {
        const client = await connect(team.viewer.access);
        const codes = await Promise.all(workspaces.map((id, i) => client.subscribe(i % 2 ? `/workspaces/${id}` : `/workspaces/${id}/since/0`, () => undefined).then(
            () => 200,
            (err: { statusCode: number }) => err.statusCode
        )));
        assert.equal(codes.filter((code) => code === 200).length, 32);
        assert.equal(codes.filter((code) => code === 429).length, 8);
        assert.equal(hub().connectionsOf(team.viewer.id)[0]!.subscriptions.size, 32);
        await client.disconnect();
    });

    it('keeps one subscription per workspace: five subscribes with different since, and an event arrives once', async () => {
        const workspaceId = workspaces[1]!;
        for (let i = 1; i <= 3; i++) {
            await send(workspaceId, i);
        }

        const history = await t.http('GET', `/api/projects/workspaces/${workspaceId}/events/?after=0`, team.owner.access);
        const epoch = history.headers['x-collab-epoch'] as string;
        const client = await connect(team.collaborator.access);
        const frames: string[] = [];
        (client as unknown as { _ws: { on(event: 'message', listener: (data: Buffer) => void): void } })._ws.on('message', (data) => frames.push(String(data)));
        const paths = [`/workspaces/${workspaceId}/since/0`, `/workspaces/${workspaceId}/since/1`, `/workspaces/${workspaceId}/since/2/${epoch}`, `/workspaces/${workspaceId}`, `/workspaces/${workspaceId}/since/3`];
        const handled: unknown[] = [];
        for (const path of paths) {
            await client.subscribe(path, (message) => handled.push(message));
        }

        assert.equal(hub().connectionsOf(team.collaborator.id)[0]!.subscriptions.size, 1);
        const seq = ((await send(workspaceId, 'once')).result as { seq: number }).seq;
        // Events reach a socket in seq order: a second copy of the event would come before the next one.
        const next = ((await send(workspaceId, 'next')).result as { seq: number }).seq;
        await until(() => handled.some((m) => (m as { seq?: number }).seq === next), 5000, 'the next event');
        assert.equal(frames.filter((frame) => frame.includes(`"seq":${seq},`)).length, 1, 'one frame of the event');
        assert.equal(handled.filter((m) => (m as { seq?: number }).seq === seq).length, 1);
        assert.deepEqual(client.subscriptions(), [paths.at(-1)], 'the replaced paths were dropped');

        // The same, sent at once: the last subscribe wins, the others are refused or replaced.
        const first = hub().connectionsOf(team.collaborator.id)[0]!;
        const burst = await connect(team.collaborator.access);
        const burstFrames: string[] = [];
        (burst as unknown as { _ws: { on(event: 'message', listener: (data: Buffer) => void): void } })._ws.on('message', (data) => burstFrames.push(String(data)));
        await Promise.allSettled(paths.map((path) => burst.subscribe(path, () => undefined)));
        const second = hub().connectionsOf(team.collaborator.id).find((connection) => connection !== first)!;
        assert.equal(second.subscriptions.size, 1);
        assert.equal(second.claimed, 0);
        const again = ((await send(workspaceId, 'once more')).result as { seq: number }).seq;
        const last = ((await send(workspaceId, 'last')).result as { seq: number }).seq;
        await until(() => burstFrames.some((frame) => frame.includes(`"seq":${last},`)), 5000, 'the next event on the burst socket');
        assert.equal(burstFrames.filter((frame) => frame.includes(`"seq":${again},`)).length, 1);
        await Promise.all([client.disconnect(), burst.disconnect()]);
    });

    it('stops a resume whose client does not read at the slow-consumer bound (4408), having read at most a page ahead', async (ctx) => {
        const workspaceId = workspaces[2]!;
        const payload = 'z'.repeat(60 * KiB);
        for (let i = 0; i < 700; i++) {
            await t.server.app.bus.publish(workspaceId, { event: 'bulk', payload, user: team.owner.email, user_id: team.owner.id });
        }

        const { counts, restore } = countReads(t, workspaceId);
        const written = new Map<Connection, number>();
        const write = Connection.prototype.write;
        Connection.prototype.write = function (this: Connection, frame: Buffer) {
            if (this.open) {
                written.set(this, (written.get(this) ?? 0) + 1);
            }

            write.call(this, frame);
        };
        try {
            const slowConsumers = async () => Number(/^realtime_slow_consumers_total (\d+)$/m.exec(await t.server.app.metrics.getSingleMetricAsString('realtime_slow_consumers_total'))?.[1]);
            const slowBefore = await slowConsumers();
            const client = plainClient(t.port, workspaceId, team.viewer.access, { query: 'since=0' });
            plains.push(client);
            client.ws.once('upgrade', () => setImmediate(() => (client.ws as unknown as { _socket: Socket })._socket.pause()));
            await client.opened;
            await until(async () => await slowConsumers() > slowBefore, 20_000, 'the slow socket to be closed as a slow consumer');
            // The close frame waits behind what the client did not read: reading again, it gets 4408.
            (client.ws as unknown as { _socket: Socket })._socket.resume();
            assert.equal((await client.closed).code, CloseCode.slowConsumer);
            await until(() => hub().connectionsOf(team.viewer.id).length === 0, 10_000, 'the slow socket to be gone');
            const sent = [...written.values()].reduce((sum, n) => sum + n, 0);
            assert.ok(sent > 0 && sent < 700, `${sent} events written`);
            assert.ok(counts.events < 700, `read ${counts.events} of 700 events`);
            assert.ok(counts.events - sent <= 100, `read ${counts.events} events, wrote ${sent}: more than a page ahead`);
            // One more read than pages: the bus's live topic reads what follows its head once.
            assert.ok(counts.reads <= Math.ceil(sent / 100) + 2, `${counts.reads} reads for ${sent} events written`);
            ctx.diagnostic(`${sent} events written, ${counts.events} read in ${counts.reads} reads before the 4408`);
            assert.equal(hub().census().replaying, 0);
        }
        finally {
            Connection.prototype.write = write;
            restore();
        }
    });
});
