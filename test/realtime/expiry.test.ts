import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import Jwt from '@hapi/jwt';
import WebSocket from 'ws';

import { makeTeam, nesConnection, nesSubscribe, plainClient, startServer, until, type NesClientType, type PlainClient, type RealtimeServer, type Team, type User } from './helpers.js';

describe('access token expiry on sockets (ACCESS_TOKEN_TTL=2s)', () => {
    let t: RealtimeServer;
    let team: Team;
    const plains: PlainClient[] = [];
    const nes: NesClientType[] = [];
    /** A fresh access token for `user` valid for `ttlSec` (the server's secret and claims). */
    const token = (user: User, ttlSec: number) => Jwt.token.generate({ sub: String(user.id), email: user.email, typ: 'access' }, { key: t.config.jwtSecret, algorithm: 'HS256' }, { ttlSec });
    const plain = (access: string) => {
        const client = plainClient(t.port, team.workspaceId, access);
        plains.push(client);
        return client;
    };

    const nesConnect = async (access: string) => {
        const connection = await nesConnection(t.port, access);
        nes.push(connection.client);
        return connection;
    };

    before(async () => {
        t = await startServer({ env: { ACCESS_TOKEN_TTL: '2s' } });
        team = await makeTeam(t);
    });
    after(async () => {
        plains.forEach((client) => client.ws.terminate());
        await Promise.all(nes.map((client) => client.disconnect()));
        await t.stop();
    });

    it('closes a plain socket with 4401 when its token expires', async () => {
        const access = token(team.owner, 2);
        const expiresAt = (Jwt.token.decode(access).decoded.payload as { exp: number }).exp * 1000;
        const client = plain(access);
        await client.opened;
        const { code, reason } = await client.closed;
        const late = Date.now() - expiresAt;
        assert.equal(code, 4401);
        assert.match(reason, /expired/);
        // Closed at the token's expiry: not before it (a timer may fire a millisecond early), nor long after.
        assert.ok(late >= -10 && late < 2000, `closed ${late} ms after the token expired`);
    });

    it('keeps a plain socket that re-authenticates with {"event":"auth"} before expiry', async () => {
        const access = token(team.owner, 2);
        const client = plain(access);
        const unrenewed = plain(access);
        await Promise.all([client.opened, unrenewed.opened]);
        client.send({ event: 'auth', payload: { token: 'garbage' } });
        assert.equal((await client.next((f) => f.event === 'error')).payload.code, 401);
        const from = client.frames.length;
        client.send({ event: 'auth', payload: { token: token(team.viewer, 60) } });
        assert.equal((await client.next((f) => f.event === 'error', 5000, from)).payload.code, 403);

        client.send({ event: 'auth', payload: { token: token(team.owner, 4) } });
        const ok = await client.next((f) => f.event === 'authenticated');
        assert.equal(typeof ok.payload.expires_at, 'string');
        // The first token has expired once the socket that kept it is closed.
        assert.equal((await unrenewed.closed).code, 4401);
        assert.equal(client.ws.readyState, WebSocket.OPEN);
        client.send({ event: 'chat', payload: 'after renewal' });
        await client.next((f) => f.event === 'chat');
        assert.equal((await client.closed).code, 4401);
    });

    it('closes a nes socket with 4401 when its token expires', async () => {
        const { client, closed } = await nesConnect(token(team.viewer, 2));
        await nesSubscribe(client, `/workspaces/${team.workspaceId}`);
        const { code, reason } = await closed;
        assert.equal(code, 4401);
        assert.match(reason, /expired/);
    });

    it('keeps a nes socket that calls reauthenticate() before expiry', async () => {
        const access = token(team.viewer, 2);
        const { client, closed } = await nesConnect(access);
        const unrenewed = await nesConnect(access);
        const { messages } = await nesSubscribe(client, `/workspaces/${team.workspaceId}`);
        assert.equal(await client.reauthenticate({ headers: { authorization: `Bearer ${token(team.viewer, 4)}` } }), true);
        // The first token has expired once the socket that kept it is closed.
        assert.equal((await unrenewed.closed).code, 4401);
        const res = await t.http('POST', `/api/projects/workspaces/${team.workspaceId}/events/`, token(team.owner, 60), { event: 'ping', payload: 1 });
        const seq = (res.result as { seq: number }).seq;
        await until(() => messages.some((m) => m.seq === seq), 5000, 'the event, still subscribed after the first token expired');
        assert.equal((await closed).code, 4401);
    });
});
