import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';

import WebSocket from 'ws';
import { CloseCode } from '@collab/protocol';

import { makeTeam, nesClient, nesConnection, nesSubscribe, plainClient, startServer, until, type NesClientType, type PlainClient, type RealtimeServer, type Team, type User } from './helpers.js';

const KiB = 1024;
const MAX_BUFFERED = 64 * KiB;

/** Opens a raw WebSocket to `path` and resolves with the HTTP status of a refused upgrade, or 101 if it opened. */
function upgradeStatus(port: number, path: string): Promise<number> {
    return new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
        ws.on('error', () => undefined);
        ws.once('open', () => {
            ws.terminate();
            resolve(101);
        });
        ws.once('unexpected-response', (_req, res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
    });
}

describe('socket protection', () => {
    let t: RealtimeServer;
    let team: Team;
    let plains: PlainClient[] = [];
    let nes: NesClientType[] = [];
    const plain = (token: string, options: Parameters<typeof plainClient>[3] = {}) => {
        const client = plainClient(t.port, team.workspaceId, token, options);
        plains.push(client);
        return client;
    };

    const sockets = () => t.server.plugins['collab-realtime'].sockets();

    before(async () => {
        t = await startServer({
            realtime: { messageRate: 5, messageBurst: 5, maxBufferedBytes: MAX_BUFFERED, maxPerUser: 3, maxConnections: 6, allowedOrigins: ['https://app.example'] }
        });
        team = await makeTeam(t);
    });
    afterEach(async () => {
        plains.forEach((client) => client.ws.terminate());
        await Promise.all(nes.map((client) => client.disconnect()));
        plains = [];
        nes = [];
        await until(() => sockets().nes + sockets().ws === 0, 5000, 'sockets closed');
    });
    after(() => t.stop());

    it('refuses messages over the rate with error 429, then closes with 1008 when they keep coming', async () => {
        const client = plain(team.owner.access);
        await client.opened;
        for (let i = 0; i < 8; i++) {
            client.send({ event: 'burst', payload: i });
        }

        await client.next((f) => f.event === 'error' && f.payload.code === 429);
        await until(() => client.frames.filter((f) => f.event === 'burst').length === 5, 5000, 'the 5 allowed events');
        assert.equal(client.frames.filter((f) => f.event === 'error').length, 3);
        for (let i = 0; i < 20; i++) {
            client.send({ event: 'burst', payload: i });
        }

        const { code } = await client.closed;
        assert.equal(code, 1008);
    });

    it('applies the same limit to nes requests', async () => {
        const client = await nesClient(t.port, team.owner.access);
        nes.push(client);
        const path = `/api/projects/workspaces/${team.workspaceId}/events/`;
        const codes = await Promise.all(Array.from({ length: 8 }, (_, i) => client.request({ method: 'POST', path, payload: { event: 'n', payload: i } })
            .then((res) => res.statusCode, (err: { statusCode: number }) => err.statusCode)));
        assert.deepEqual(codes.filter((c) => c === 202).length, 5);
        assert.deepEqual(codes.filter((c) => c === 429).length, 3);
    });

    /**
     * Posts 60 KiB events until the server has closed the socket of `user` (its only one), at most as many as the
     * kernel's socket buffers and the server's cap can hold twice; resolves with how many it posted. The server must
     * then hold no more than its cap for that socket.
     */
    const flood = async (user: User) => {
        const connections = () => t.server.plugins['collab-realtime'].hub.connectionsOf(user.id);
        assert.equal(connections().length, 1);
        const closed = () => connections().every((connection) => !connection.open);
        const payload = 'z'.repeat(60 * KiB);
        const events = `/api/projects/workspaces/${team.workspaceId}/events/`;
        // The kernel's socket buffers (both ends of loopback TCP) take events first; past them the server's 64 KiB cap applies.
        const kernelMax = ['tcp_rmem', 'tcp_wmem'].reduce((sum, name) => sum + Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2]), 0);
        const bound = Math.ceil(2 * kernelMax / payload.length);
        let sent = 0;
        while (!closed() && sent < bound) {
            await t.http('POST', events, team.owner.access, { event: 'bulk', payload });
            sent++;
        }

        assert.ok(closed(), `the slow socket is still open after ${sent} events`);
        // What the server holds for the socket: at most the cap and the frame that crossed it (and the close frame).
        const held = connections().map((connection) => (connection as unknown as { ws: WebSocket }).ws.bufferedAmount);
        assert.ok(held.every((bytes) => bytes <= MAX_BUFFERED + 2 * payload.length), `the server holds ${held.join(', ')} bytes for the slow socket`);
        return sent;
    };

    const slowConsumers = async () => Number(/^realtime_slow_consumers_total (\d+)$/m.exec(await t.server.app.metrics.getSingleMetricAsString('realtime_slow_consumers_total'))?.[1]);

    it('closes a plain socket that stops reading with 4408 instead of buffering without bound', async () => {
        const slow = plain(team.viewer.access);
        const reader = plain(team.collaborator.access);
        await Promise.all([slow.opened, reader.opened]);
        const slowBefore = await slowConsumers();
        const socket = (slow.ws as unknown as { _socket: Socket })._socket;
        socket.pause();
        const before = process.memoryUsage().arrayBuffers;
        const sent = await flood(team.viewer);
        const grown = process.memoryUsage().arrayBuffers - before;
        assert.ok(grown < 32 * 1024 * KiB, `buffers grew by ${grown} bytes`);

        // The close frame waits behind what the client did not read: reading again, it gets the backlog, then 4408.
        socket.resume();
        assert.equal((await slow.closed).code, CloseCode.slowConsumer);
        assert.ok(slow.frames.filter((f) => f.event === 'bulk').length < sent, 'the slow socket missed events');
        await until(() => reader.frames.filter((f) => f.event === 'bulk').length === sent, 10_000, 'the reader gets every event');
        assert.equal(reader.ws.readyState, reader.ws.OPEN);
        assert.equal(await slowConsumers(), slowBefore + 1);
    });

    it('closes a nes socket that stops reading with 4408 instead of buffering without bound', async () => {
        const { client: slow, closed } = await nesConnection(t.port, team.viewer.access);
        nes.push(slow);
        const { messages } = await nesSubscribe(slow, `/workspaces/${team.workspaceId}`);
        const reader = plain(team.collaborator.access);
        await reader.opened;
        const slowBefore = await slowConsumers();
        const socket = (slow as unknown as { _ws: { _socket: Socket } })._ws._socket;
        socket.pause();
        const before = process.memoryUsage().arrayBuffers;
        const sent = await flood(team.viewer);
        const grown = process.memoryUsage().arrayBuffers - before;
        assert.ok(grown < 32 * 1024 * KiB, `buffers grew by ${grown} bytes`);

        socket.resume();
        assert.equal((await closed).code, CloseCode.slowConsumer);
        assert.ok(messages.filter((m) => m.event === 'bulk').length < sent, 'the slow socket missed events');
        await until(() => reader.frames.filter((f) => f.event === 'bulk').length === sent, 10_000, 'the reader gets every event');
        assert.equal(await slowConsumers(), slowBefore + 1);
    });

    it('caps connections per user on both transports (4429 / hello refused)', async () => {
        const open = [plain(team.owner.access), plain(team.owner.access)];
        await Promise.all(open.map((client) => client.opened));
        nes.push(await nesClient(t.port, team.owner.access));
        assert.equal((await plain(team.owner.access).closed).code, 4429);
        await assert.rejects(nesClient(t.port, team.owner.access), (err: { statusCode?: number }) => err.statusCode === 429);
        const other = plain(team.viewer.access);
        await other.opened;
    });

    it('caps connections server-wide (plain 1013, nes upgrade 503)', async () => {
        const users = [team.owner, team.collaborator, team.viewer];
        const open = users.flatMap((user) => [plain(user.access), plain(user.access)]);
        await Promise.all(open.map((client) => client.opened));
        assert.equal((await plain(team.owner.access).closed).code, CloseCode.tryAgain);
        // nes reports a refused upgrade as a socket error without its status: a raw upgrade to nes's path shows the 503.
        await assert.rejects(nesClient(t.port, team.viewer.access), (err: { type?: string; message?: string }) => err.type === 'ws' && err.message === 'Socket error');
        assert.equal(await upgradeStatus(t.port, '/'), 503);
    });

    it('checks the Origin of browser upgrades against WS_ALLOWED_ORIGINS', async () => {
        const evil = plain(team.owner.access, { headers: { origin: 'https://evil.example' } });
        await assert.rejects(evil.opened, /403/);
        const good = plain(team.owner.access, { headers: { origin: 'https://app.example' } });
        const cli = plain(team.owner.access);
        await Promise.all([good.opened, cli.opened]);
    });
});
