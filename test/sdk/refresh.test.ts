import assert from 'node:assert/strict';
import { setTimeout as wait } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { AuthenticationError, CollabClient, type TokenPair } from '@collab/sdk';

import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

describe('refresh on 401', () => {
    let t: TestServer;
    let expired: TestUser;

    before(async () => {
        t = await startTestServer({ listen: true, env: { ACCESS_TOKEN_TTL: '2s' } });
        expired = await t.user();
        await wait(3100);                                   // the access token (2 s) is dead now
    });
    after(() => t.stop());

    const counted = (refreshes: { count: number }): typeof fetch => async (input, init) => {
        if (String(input).includes('/api/auth/refresh/')) {
            ++refreshes.count;
        }

        return fetch(input, init);
    };

    it('refreshes once, tells onTokens and retries, for requests that were sent at the same time', async () => {
        const user = await t.user();
        await wait(3100);
        const refreshes = { count: 0 };
        const seen: TokenPair[] = [];
        const client = new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh, onTokens: (tokens) => void seen.push(tokens), fetch: counted(refreshes) });

        const results = await Promise.all([client.auth.me(), client.auth.me(), client.projects.list().toArray(), client.projects.create({ name: 'after refresh' })]);
        assert.equal(results[0].id, user.id);
        assert.equal(results[3].name, 'after refresh');
        assert.equal(refreshes.count, 1);
        assert.equal(seen.length, 1);
        assert.deepEqual(client.tokens, seen[0]);
        assert.notEqual(seen[0]!.refresh, user.refresh);
    });

    it('lets clients that share saved tokens refresh them once between them through the refresh option', async () => {
        const user = await t.user();
        await wait(3100);
        const refreshes = { count: 0 };
        const saved: { tokens: TokenPair; lock: Promise<unknown> } = { tokens: { access: user.access, refresh: user.refresh }, lock: Promise.resolve() };
        const refresh = (held: string, send: (refresh: string) => Promise<TokenPair>): Promise<TokenPair> => {
            const turn = saved.lock.then(async () => {
                if (saved.tokens.refresh === held) {
                    saved.tokens = await send(held);
                }

                return saved.tokens;
            });
            saved.lock = turn.catch(() => undefined);
            return turn;
        };
        const clients = [1, 2, 3].map(() => new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh, refresh, fetch: counted(refreshes) }));

        const mes = await Promise.all(clients.map((client) => client.auth.me()));
        assert.deepEqual(mes.map((me) => me.id), [user.id, user.id, user.id]);
        assert.equal(refreshes.count, 1);
        for (const client of clients) {
            assert.deepEqual(client.tokens, saved.tokens);
        }

        // The session is alive: its refresh token was never presented twice.
        assert.equal((await t.call('POST', '/api/auth/refresh/', { payload: { refresh: saved.tokens.refresh } })).statusCode, 200);
    });

    it('fails with session_expired when the refresh token is dead too, without leaking either token', async () => {
        const user = await t.user();
        await t.call('POST', '/api/auth/logout/', { payload: { refresh: user.refresh } });
        await wait(3100);
        const client = new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh });
        const err = await client.auth.me().catch((e: unknown) => e);
        assert.ok(err instanceof AuthenticationError);
        assert.equal(err.code, 'session_expired');
        assert.equal(client.tokens.refresh, undefined);
        const text = JSON.stringify({ ...err, message: err.message, stack: err.stack });
        assert.ok(!text.includes(user.access) && !text.includes(user.refresh));
    });

    it('never refreshes for the auth routes themselves', async () => {
        const refreshes = { count: 0 };
        const client = new CollabClient({ baseUrl: t.server.info.uri, token: expired.access, refreshToken: expired.refresh, fetch: counted(refreshes) });
        await assert.rejects(client.auth.login({ email: expired.email, password: 'wrong password' }), { name: 'AuthenticationError', code: 'unauthorized' });
        assert.equal(refreshes.count, 0);
    });

    it('gives up after one refresh when the new token is refused too', async () => {
        const refreshes = { count: 0 };
        let calls = 0;
        const client = new CollabClient({
            baseUrl: t.server.info.uri,
            token: expired.access,
            refreshToken: expired.refresh,
            fetch: async (input, init) => {
                ++calls;
                if (String(input).includes('/api/auth/me/')) {
                    return new Response('{"statusCode":401,"error":"Unauthorized","message":"Expired token"}', { status: 401, headers: { 'content-type': 'application/json' } });
                }

                return counted(refreshes)(input, init);
            }
        });
        await assert.rejects(client.auth.me(), { name: 'AuthenticationError', code: 'unauthorized' });
        assert.equal(refreshes.count, 1);
        assert.equal(calls, 3);
    });
});
