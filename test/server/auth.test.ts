import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import Jwt from '@hapi/jwt';

import { startTestServer, type TestServer } from '../helpers/server.js';

describe('auth', () => {
    let t: TestServer;
    before(async () => {
        t = await startTestServer();
    });
    after(() => t.stop());

    it('registers, logs in and shows the user', async () => {
        const reg = await t.call('POST', '/api/auth/register/', { payload: { email: 'Ada@Example.com', password: 'analytical engine', name: 'Ada' } });
        assert.equal(reg.statusCode, 201);
        const user = reg.result as Record<string, unknown>;
        assert.equal(user.email, 'ada@example.com');
        assert.equal(user.is_admin, false);
        assert.equal('password_hash' in user, false);

        const login = await t.call('POST', '/api/auth/login', { payload: { email: 'ada@example.com', password: 'analytical engine' } });
        assert.equal(login.statusCode, 200);
        const { access, refresh } = login.result as { access: string; refresh: string };
        const me = await t.call('GET', '/api/auth/me/', { token: access });
        assert.equal(me.statusCode, 200);
        assert.deepEqual(Object.keys(me.result as object).sort(), ['created_at', 'email', 'id', 'is_admin', 'name']);
        assert.equal((me.result as { id: number }).id, user.id);

        const claims = Jwt.token.decode(access).decoded;
        assert.equal(claims.header.alg, 'HS256');
        assert.equal(claims.payload.typ, 'access');
        assert.equal(claims.payload.sub, String(user.id));
        assert.equal(claims.payload.email, 'ada@example.com');
        assert.ok(refresh);
    });

    it('refuses a taken email with 409', async () => {
        const u = await t.user();
        const res = await t.call('POST', '/api/auth/register/', { payload: { email: u.email.toUpperCase(), password: 'whatever123' } });
        assert.equal(res.statusCode, 409);
    });

    it('names the field of a bad registration', async () => {
        const cases: Array<[unknown, string]> = [
            [{ email: 'not-an-email', password: 'long enough' }, 'email'],
            [{ email: 'a@example.com', password: 'short' }, 'password'],
            [{ email: 'a@example.com', password: 'x'.repeat(129) }, 'password'],
            [{ email: 'a@example.com' }, 'password'],
            [{ email: 5, password: 'long enough' }, 'email']
        ];
        for (const [payload, field] of cases) {
            const res = await t.call('POST', '/api/auth/register', { payload });
            assert.equal(res.statusCode, 400, JSON.stringify(payload));
            assert.equal((res.result as { field: string }).field, field);
            assert.match((res.result as { message: string }).message, new RegExp(field));
        }
    });

    it('answers malformed JSON with 400', async () => {
        const res = await t.call('POST', '/api/auth/login/', { payload: '{"email": ', headers: { 'content-type': 'application/json' } });
        assert.equal(res.statusCode, 400);
    });

    it('gives the same 401 for an unknown email and a wrong password', async () => {
        const u = await t.user();
        const unknown = await t.call('POST', '/api/auth/login/', { payload: { email: 'nobody@example.com', password: 'whatever123' } });
        const wrong = await t.call('POST', '/api/auth/login/', { payload: { email: u.email, password: 'wrong password' } });
        assert.equal(unknown.statusCode, 401);
        assert.equal(wrong.statusCode, 401);
        assert.deepEqual(unknown.result, wrong.result);
    });

    it('refuses tokens that are not valid access tokens', async () => {
        const u = await t.user();
        const now = Math.floor(Date.now() / 1000);
        const claims = { sub: String(u.id), email: u.email, typ: 'access' };
        const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const tokens = {
            missing: undefined,
            garbage: 'not.a.token',
            refresh: u.refresh,
            otherKey: Jwt.token.generate(claims, { key: 'another-secret-another-secret-0123', algorithm: 'HS256' }),
            algNone: `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, iat: now, exp: now + 600 })}.`,
            expired: Jwt.token.generate({ ...claims, iat: now - 1000, exp: now - 10 }, { key: t.config.jwtSecret, algorithm: 'HS256' }, { ttlSec: 0 }),
            wrongTyp: Jwt.token.generate({ ...claims, typ: 'refresh' }, { key: t.config.jwtSecret, algorithm: 'HS256' })
        };
        for (const [name, token] of Object.entries(tokens)) {
            const res = await t.call('GET', '/api/auth/me', { token });
            assert.equal(res.statusCode, 401, name);
        }

        const ok = await t.call('GET', '/api/auth/me', { token: u.access });
        assert.equal(ok.statusCode, 200);
    });

    it('rotates refresh tokens and revokes the family on reuse', async () => {
        const u = await t.user();
        const first = await t.call('POST', '/api/auth/refresh/', { payload: { refresh: u.refresh } });
        assert.equal(first.statusCode, 200);
        const second = first.result as { access: string; refresh: string };
        assert.notEqual(second.refresh, u.refresh);

        const me = await t.call('GET', '/api/auth/me', { token: second.access });
        assert.equal(me.statusCode, 200);

        const reuse = await t.call('POST', '/api/auth/refresh/', { payload: { refresh: u.refresh } });
        assert.equal(reuse.statusCode, 401);

        const afterReuse = await t.call('POST', '/api/auth/refresh/', { payload: { refresh: second.refresh } });
        assert.equal(afterReuse.statusCode, 401, 'the whole family is revoked');
    });

    it('logs out without an access token, and a dead refresh token is 401', async () => {
        const u = await t.user();
        const out = await t.call('POST', '/api/auth/logout/', { payload: { refresh: u.refresh } });
        assert.equal(out.statusCode, 204);
        assert.equal((await t.call('POST', '/api/auth/logout/', { payload: { refresh: u.refresh } })).statusCode, 401);
        assert.equal((await t.call('POST', '/api/auth/refresh/', { payload: { refresh: u.refresh } })).statusCode, 401);
        assert.equal((await t.call('POST', '/api/auth/logout/', { payload: { refresh: 'unknown' } })).statusCode, 401);
        assert.equal((await t.call('POST', '/api/auth/refresh/', { payload: { refresh: u.access } })).statusCode, 401);
    });

    it('stores passwords with scrypt and a per-user salt', async () => {
        const a = await t.user('a');
        const b = await t.user('b');
        const rows = await t.database.db('users').whereIn('id', [a.id, b.id]).select('password_hash');
        assert.equal(rows.length, 2);
        for (const row of rows) {
            assert.match(row.password_hash, /^scrypt\$/);
        }

        assert.notEqual(rows[0].password_hash.split('$')[4], rows[1].password_hash.split('$')[4]);
    });
});
