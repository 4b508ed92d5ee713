import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import { RedisServer } from '../helpers/redis-server.js';
import { makeTeam, nesClient, nesSubscribe, plainClient, startServer, until, type NesClientType, type PlainClient, type RealtimeServer, type Team } from './helpers.js';

// The bus gives up on a Redis command after 2 s (packages/server/src/plugins/bus.ts) and queues none while
// disconnected: a request during an outage is answered within that, with slack for a loaded machine.
const ANSWERED_WITHIN_MS = 2_000 + 1_000;

describe('when Redis is unreachable', () => {
    let redis: RedisServer;
    let t: RealtimeServer;
    let team: Team;
    let plain: PlainClient;
    let nes: NesClientType;
    let feed: Awaited<ReturnType<typeof nesSubscribe>>;
    let events: string;

    before(async () => {
        redis = await RedisServer.reserve();
        await redis.start();
        t = await startServer({ env: { REDIS_URL: redis.url } });
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
        await redis?.stop();
    });

    it('works before the outage', async () => {
        assert.equal((await t.http('POST', events, team.owner.access, { event: 'before', payload: 1 })).statusCode, 202);
        await plain.next((f) => f.event === 'before');
        await until(() => feed.messages.some((m) => m.event === 'before'));
    });

    it('answers 503 to events, history and presence, quickly, and keeps sockets open', async () => {
        await redis.stop();
        const started = Date.now();
        const res = await t.http('POST', events, team.owner.access, { event: 'during', payload: 1 });
        const took = Date.now() - started;
        assert.equal(res.statusCode, 503);
        assert.ok(took < ANSWERED_WITHIN_MS, `answered in ${took} ms`);
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
        await redis.start();
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
