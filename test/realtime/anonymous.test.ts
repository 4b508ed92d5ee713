import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import { makeTeam, nesClient, plainClient, sleep, startServer, until, type NesClientType, type PlainClient, type RealtimeServer, type Team } from './helpers.js';

/** A raw nes socket that answers the server's pings and records what it gets. */
interface RawNes {
    ws: WebSocket;
    messages: Array<Record<string, unknown>>;
    /** `'open'`, or the HTTP status of a refused upgrade. */
    opened: Promise<'open' | number>;
    closed: Promise<{ code: number; reason: string; at: number }>;
    send(message: object): void;
}

function rawNes(port: number, options: { localAddress?: string } = {}): RawNes {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { localAddress: options.localAddress });
    const messages: Array<Record<string, unknown>> = [];
    ws.on('error', () => undefined);
    ws.on('message', (data) => {
        const message = JSON.parse(data.toString()) as Record<string, unknown>;
        messages.push(message);
        if (message.type === 'ping') {
            ws.send(JSON.stringify({ type: 'ping', id: message.id }));
        }
    });
    const opened = new Promise<'open' | number>((resolve) => {
        ws.once('open', () => resolve('open'));
        ws.once('unexpected-response', (_req, res) => {
            resolve(res.statusCode ?? 0);
            res.resume();
        });
    });
    const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => {
        ws.once('close', (code, reason) => resolve({ code, reason: reason.toString(), at: Date.now() }));
        ws.once('unexpected-response', () => resolve({ code: 0, reason: 'refused', at: Date.now() }));
    });
    return { ws, messages, opened, closed, send: (message) => ws.send(JSON.stringify(message)) };
}

const hello = (token?: string) => ({ type: 'hello', id: 1, version: '2', ...(token === undefined ? {} : { auth: { headers: { authorization: `Bearer ${token}` } } }) });

describe('unauthenticated sockets', () => {
    const AUTH_TIMEOUT = 1000;
    let t: RealtimeServer;
    let team: Team;
    const cleanup: Array<() => unknown> = [];
    const api = () => t.server.plugins['collab-realtime'];

    before(async () => {
        t = await startServer({ realtime: { maxConnections: 30, authTimeoutMs: AUTH_TIMEOUT } });
        team = await makeTeam(t);
    });
    after(async () => {
        await Promise.all(cleanup.map((close) => close()));
        await t.stop();
    });

    it('never keep real users out: 40 anonymous sockets that answer pings, with failed hellos or none, leave room on both transports and are all closed after WS_AUTH_TIMEOUT', async () => {
        const attackers = Array.from({ length: 40 }, () => rawNes(t.port));
        cleanup.push(() => attackers.forEach((a) => a.ws.terminate()));
        const opened = await Promise.all(attackers.map((a) => a.opened));
        attackers.forEach((a, i) => {
            if (i % 2 === 0 && a.ws.readyState === WebSocket.OPEN) {
                a.send(hello('not-a-token'));
            }
        });

        const nes: NesClientType = await nesClient(t.port, team.owner.access);
        cleanup.push(() => nes.disconnect());
        const plain: PlainClient = plainClient(t.port, team.workspaceId, team.collaborator.access);
        cleanup.push(() => plain.ws.terminate());
        await plain.opened;
        plain.send({ event: 'hi', payload: 1 });
        await plain.next((f) => f.event === 'hi');
        assert.equal((await nes.request({ method: 'GET', path: '/healthz' })).statusCode, 200);

        const closes = await Promise.all(attackers.map((a) => a.closed));
        assert.ok(opened.filter((o) => o === 'open').length >= 3, `opened: ${opened.join(',')}`);
        assert.ok(closes.every((c) => c.code !== 1000), JSON.stringify(closes.map((c) => c.code)));
        await until(() => api().anonymous() === 0, 5000, 'no unauthenticated socket left');
        assert.deepEqual(api().sockets(), { nes: 1, ws: 1 });
        assert.equal(api().hub.connections().length, 2);
        await nes.disconnect();
        plain.ws.terminate();
        await until(() => api().sockets().nes + api().sockets().ws === 0, 5000, 'users gone');
    });

    it('closes a socket that sends nothing with 4401 once WS_AUTH_TIMEOUT has passed', async () => {
        const idle = rawNes(t.port);
        cleanup.push(() => idle.ws.terminate());
        assert.equal(await idle.opened, 'open');
        const start = Date.now();
        const { code, at } = await idle.closed;
        assert.equal(code, 4401);
        assert.ok(at - start >= AUTH_TIMEOUT - 100, `closed after ${at - start} ms`);
        await until(() => api().anonymous() === 0 && api().sockets().nes === 0, 5000, 'socket gone');
    });

    it('keeps a socket that authenticated in time open past WS_AUTH_TIMEOUT', async () => {
        const client = await nesClient(t.port, team.viewer.access);
        cleanup.push(() => client.disconnect());
        const raw = rawNes(t.port);
        cleanup.push(() => raw.ws.terminate());
        assert.equal(await raw.opened, 'open');
        const idle = rawNes(t.port);
        cleanup.push(() => idle.ws.terminate());
        assert.equal(await idle.opened, 'open');
        raw.send(hello(team.viewer.access));
        await until(() => raw.messages.some((m) => m.type === 'hello'), 5000, 'hello answered');
        assert.equal(raw.messages.find((m) => m.type === 'hello')!.statusCode, undefined);

        // WS_AUTH_TIMEOUT has passed for both once the idle one, opened after, is closed.
        assert.equal((await idle.closed).code, 4401);
        raw.send({ type: 'request', id: 2, method: 'GET', path: '/healthz' });
        await until(() => raw.messages.some((m) => m.id === 2), 5000, 'the request answered');
        assert.equal(raw.messages.find((m) => m.id === 2)!.statusCode, 200);
        assert.equal(raw.ws.readyState, WebSocket.OPEN);
        assert.equal((await client.request({ method: 'GET', path: '/healthz' })).statusCode, 200);
        await until(() => api().anonymous() === 0, 5000, 'no unauthenticated socket left');
        await client.disconnect();
        raw.ws.close();
        await until(() => api().sockets().nes === 0 && api().hub.connections().length === 0, 5000, 'sockets gone');
    });
});

describe('unauthenticated sockets with the default limits', () => {
    let t: RealtimeServer;
    let team: Team;
    const cleanup: Array<() => unknown> = [];
    const api = () => t.server.plugins['collab-realtime'];

    before(async () => {
        t = await startServer({ realtime: { authTimeoutMs: 60_000 } });
        team = await makeTeam(t);
    });
    after(async () => {
        await Promise.all(cleanup.map((close) => close()));
        await t.stop();
    });

    for (const [what, token] of [['a bad token', 'not-a-token'], ['no token', undefined]] as const) {
        it(`answers a hello with ${what} with 401, then closes the socket`, async () => {
            const raw = rawNes(t.port);
            cleanup.push(() => raw.ws.terminate());
            assert.equal(await raw.opened, 'open');
            raw.send(hello(token));
            const closed = await Promise.race([raw.closed, sleep(5000).then(() => null)]);
            assert.ok(closed, 'the socket was closed');
            assert.equal(raw.messages[0]?.type, 'hello');
            assert.equal(raw.messages[0]?.statusCode, 401);
            await until(() => api().anonymous() === 0 && api().sockets().nes === 0, 5000, 'socket gone');
        });
    }

    it('refuses the 17th unauthenticated socket from one address with HTTP 429, not other addresses nor plain users', async () => {
        const first = Array.from({ length: 16 }, () => rawNes(t.port));
        cleanup.push(() => first.forEach((a) => a.ws.terminate()));
        assert.deepEqual(await Promise.all(first.map((a) => a.opened)), Array(16).fill('open'));
        const extra = rawNes(t.port);
        assert.equal(await extra.opened, 429);

        const elsewhere = rawNes(t.port, { localAddress: '127.0.0.2' });
        cleanup.push(() => elsewhere.ws.terminate());
        assert.equal(await elsewhere.opened, 'open');
        const plain = plainClient(t.port, team.workspaceId, team.owner.access);
        cleanup.push(() => plain.ws.terminate());
        await plain.opened;

        first[0]!.ws.close();
        await first[0]!.closed;
        await until(() => api().anonymous() === 16, 5000, 'one place freed');
        const again = rawNes(t.port);
        cleanup.push(() => again.ws.terminate());
        assert.equal(await again.opened, 'open');
    });
});

describe('authenticating when every authenticated place is taken', () => {
    let t: RealtimeServer;
    let team: Team;
    const cleanup: Array<() => unknown> = [];

    before(async () => {
        t = await startServer({ realtime: { maxConnections: 2, authTimeoutMs: 60_000 } });
        team = await makeTeam(t);
    });
    after(async () => {
        await Promise.all(cleanup.map((close) => close()));
        await t.stop();
    });

    it('answers the hello with 503 and closes the socket; the places of authenticated users were never taken', async () => {
        const waiting = rawNes(t.port);
        cleanup.push(() => waiting.ws.terminate());
        assert.equal(await waiting.opened, 'open');
        const users = [plainClient(t.port, team.workspaceId, team.owner.access), plainClient(t.port, team.workspaceId, team.viewer.access)];
        cleanup.push(() => users.forEach((u) => u.ws.terminate()));
        await Promise.all(users.map((u) => u.opened));

        waiting.send(hello(team.collaborator.access));
        await waiting.closed;
        assert.equal(waiting.messages[0]?.type, 'hello');
        assert.equal(waiting.messages[0]?.statusCode, 503);
        assert.equal(await rawNes(t.port).opened, 503);
        assert.equal((await plainClient(t.port, team.workspaceId, team.collaborator.access).closed).code, 1013);
    });
});
