import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import type { Server } from '@hapi/hapi';
import { loggerOptions } from '@collab/core';
import { pino } from 'pino';

import { startTestServer, type TestServer } from '../helpers/server.js';

describe('request logs', () => {
    const lines: string[] = [];
    let t: TestServer;
    let server: Server;
    before(async () => {
        const stream = new Writable({
            write(chunk, _encoding, done) {
                lines.push(String(chunk));
                done();
            }
        });
        t = await startTestServer({ env: { LOG_LEVEL: 'trace' }, logger: pino(loggerOptions('trace', 'collab-test'), stream) });
        server = t.server;
    });
    after(() => t.stop());

    it('never contain passwords, tokens or the Authorization header', async () => {
        const email = 'logged@example.com';
        const password = 'SECRET-password-123';
        const post = (url: string, payload: object, headers: Record<string, string> = {}) => server.inject({ method: 'POST', url, payload, headers });

        assert.equal((await post('/api/auth/register/', { email, password })).statusCode, 201);
        assert.equal((await post('/api/auth/register/', { email: 'not an email', password })).statusCode, 400);
        const login = await post('/api/auth/login/', { email, password });
        const first = login.result as { access: string; refresh: string };
        assert.equal((await post('/api/auth/login/', { email, password: 'SECRET-wrong-password' })).statusCode, 401);
        const refreshed = await post('/api/auth/refresh/', { refresh: first.refresh });
        const second = refreshed.result as { access: string; refresh: string };
        assert.equal(refreshed.statusCode, 200);
        assert.equal((await post('/api/auth/refresh/', { refresh: first.refresh })).statusCode, 401, 'reuse is refused (and logged)');

        const me = await server.inject({ url: '/api/auth/me/?token=SECRET-QUERY-TOKEN&access_token=SECRET-QUERY-ACCESS', headers: { authorization: `Bearer ${second.access}` } });
        assert.equal(me.statusCode, 200);
        const bad = await server.inject({ url: '/api/auth/me/', headers: { authorization: 'Bearer SECRET-BAD-TOKEN', cookie: 'session=SECRET-COOKIE' } });
        assert.equal(bad.statusCode, 401);
        assert.equal((await server.inject({ url: '/api/nowhere?token=SECRET-404-TOKEN' })).statusCode, 404);

        const text = lines.join('');
        assert.match(text, /"url":"\/api\/auth\/me\/?\?token=\[Redacted\]/, 'requests are logged, with the query token blanked');
        assert.match(text, /\/api\/auth\/refresh/);
        const secrets = [password, 'SECRET-wrong-password', first.access, first.refresh, second.access, second.refresh,
            'SECRET-QUERY-TOKEN', 'SECRET-QUERY-ACCESS', 'SECRET-BAD-TOKEN', 'SECRET-COOKIE', 'SECRET-404-TOKEN', t.config.jwtSecret];
        for (const secret of secrets) {
            assert.equal(text.includes(secret), false, `a log line contains ${secret.slice(0, 12)}…`);
        }
        assert.doesNotMatch(text, /SECRET/);
    });

    it('leave out the server\'s internal requests (a nes socket\'s authentication), not the requests around them', async () => {
        const user = await t.user('internal');
        const from = lines.length;
        const auth = await server.inject({ method: 'auth', url: '/nes/auth', headers: { authorization: `Bearer ${user.access}` }, allowInternals: true });
        assert.equal(auth.statusCode, 200);
        assert.equal((await server.inject({ url: '/api/auth/me/', headers: { authorization: `Bearer ${user.access}` } })).statusCode, 200);
        const text = lines.slice(from).join('');
        assert.match(text, /"url":"\/api\/auth\/me\/?"/);
        assert.doesNotMatch(text, /nes\/auth/);
    });
});
