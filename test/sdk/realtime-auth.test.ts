import assert from 'node:assert/strict';
import { setTimeout as wait } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { AuthenticationError, CollabClient, type EventEnvelope, type RealtimeStatus, type TokenPair } from '@collab/sdk';

import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { gate, type Gate } from './gated-websocket.js';

/** Access tokens live 2 s here: the socket must refresh and re-authenticate, or reconnect with a fresh token. */
describe('client.realtime with short-lived access tokens', () => {
    let t: TestServer;
    let owner: TestUser;
    let workspaceId: number;
    let projectId: number;
    const clients: CollabClient[] = [];

    interface Probe {
        client: CollabClient;
        gate: Gate;
        refreshes: () => number;
        tokens: TokenPair[];
        events: EventEnvelope[];
        statuses: RealtimeStatus[];
    }

    const probe = (user: Pick<TestUser, 'access'> & { refresh?: string }): Probe => {
        const g = gate();
        let refreshes = 0;
        const tokens: TokenPair[] = [];
        const client = new CollabClient({
            baseUrl: t.server.info.uri,
            token: user.access,
            refreshToken: user.refresh,
            WebSocket: g.WebSocket,
            onTokens: (pair) => void tokens.push(pair),
            fetch: (input, init) => {
                refreshes += String(input).includes('/api/auth/refresh/') ? 1 : 0;
                return fetch(input, init);
            }
        });
        clients.push(client);
        return { client, gate: g, refreshes: () => refreshes, tokens, events: [], statuses: [] };
    };
    const subscribe = (p: Probe) => p.client.realtime.subscribe(workspaceId, (e) => p.events.push(e), { onStatus: (s) => p.statuses.push(s) });
    const send = async (tag: string) => (await t.call('POST', `/api/projects/workspaces/${workspaceId}/events/`, { token: (await fresh()).access, payload: { event: 'note', payload: { tag } } })).result as { seq: number };
    const fresh = async () => (await t.call('POST', '/api/auth/login/', { payload: { email: owner.email, password: 'correct horse battery' } })).result as TokenPair;
    const got = (p: Probe, tag: string) => p.events.some((e) => (e.payload as { tag?: string }).tag === tag);

    before(async () => {
        t = await startTestServer({ listen: true, env: { ACCESS_TOKEN_TTL: '2s' } });
        owner = await t.user('owner');
        const res = await t.call('POST', '/api/projects/projects/', { token: owner.access, payload: { name: 'Expiry' } });
        projectId = (res.result as { id: number }).id;
        const ws = await t.call('POST', `/api/projects/projects/${projectId}/workspaces/`, { token: owner.access, payload: { name: 'W' } });
        workspaceId = (ws.result as { id: number }).id;
    });
    after(async () => {
        await Promise.all(clients.map((c) => c.realtime.close()));
        await t.stop();
    });

    it('re-authenticates the live socket before the token expires, without reconnecting', async () => {
        const p = probe(await fresh());
        const stop = await subscribe(p);
        await wait(5_000);
        await send('still-live');
        await until(() => got(p, 'still-live'), 10_000, 'the event');
        assert.equal(p.gate.opened(), 1);
        assert.deepEqual(p.statuses.map((s) => s.state), ['connected']);
        assert.ok(p.refreshes() >= 2, `${p.refreshes()} refreshes`);
        assert.deepEqual(p.client.tokens, p.tokens.at(-1));
        stop();
    });

    it('refreshes an expired token before connecting', async () => {
        const p = probe(await fresh());
        await wait(3_100);
        const stop = await subscribe(p);
        assert.equal(p.refreshes(), 1);
        assert.equal(p.gate.opened(), 1);
        await send('after-expiry');
        await until(() => got(p, 'after-expiry'), 10_000, 'the event');
        stop();
    });

    it('refreshes and connects again when hello is refused with 401', async () => {
        const { refresh } = await fresh();
        const p = probe({ access: 'not-a-token', refresh });
        const stop = await subscribe(p);
        assert.equal(p.refreshes(), 1);
        assert.equal(p.gate.opened(), 2);
        stop();
    });

    it('reconnects with a fresh token after being down past its expiry, resuming after the last seq', async () => {
        const first = await fresh();
        const p = probe(first);
        const stop = await subscribe(p);
        const { seq } = await send('before');
        await until(() => got(p, 'before'), 10_000, 'the first event');
        p.gate.block();
        p.gate.cut();
        const missed = await send('while-down');
        await wait(3_100);                                  // the first token expired meanwhile
        p.gate.open();
        await until(() => got(p, 'while-down'), 20_000, 'the missed event');
        assert.ok(p.refreshes() >= 1);
        assert.notEqual(p.client.tokens.access, first.access);
        assert.deepEqual(p.events.filter((e) => e.seq !== undefined).map((e) => e.seq), [seq, missed.seq]);
        const resumed = p.statuses.find((s) => s.state === 'connected' && s.resumed);
        assert.deepEqual(resumed && resumed.state === 'connected' && resumed.after, seq);
        stop();
    });

    it('ends with an AuthenticationError when the token expires and there is no refresh token', async () => {
        const p = probe({ access: (await fresh()).access });
        await subscribe(p);
        await until(() => p.statuses.some((s) => s.state === 'ended'), 15_000, 'the end');
        const ended = p.statuses.find((s) => s.state === 'ended');
        assert.ok(ended?.state === 'ended' && ended.error instanceof AuthenticationError);
        const opened = p.gate.opened();
        await wait(1_000);
        assert.equal(p.gate.opened(), opened, 'no reconnect after the end');
    });

    it('ends with account_deactivated when an administrator deactivates the account', async () => {
        const admin = await t.user('admin');
        await t.database.db('users').where({ id: admin.id }).update({ is_admin: true });
        const victim = await t.user('victim');
        await t.call('POST', `/api/projects/projects/${projectId}/members/`, { token: (await fresh()).access, payload: { user_id: victim.id, role: 'viewer' } });
        const p = probe(victim);
        await subscribe(p);
        const adminLogin = (await t.call('POST', '/api/auth/login/', { payload: { email: admin.email, password: 'correct horse battery' } })).result as TokenPair;
        const res = await t.call('PATCH', `/api/admin/users/${victim.id}/`, { token: adminLogin.access, payload: { is_active: false } });
        assert.equal(res.statusCode, 200);
        await until(() => p.statuses.some((s) => s.state === 'ended'), 10_000, 'the end');
        const ended = p.statuses.find((s) => s.state === 'ended');
        assert.ok(ended?.state === 'ended' && ended.error instanceof AuthenticationError);
        assert.equal(ended.error.code, 'account_deactivated');
        assert.equal(ended.error.message, 'The account has been deactivated');
    });
});
