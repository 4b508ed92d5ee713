import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { advertiseWorker, loggerOptions } from '@collab/core';
import { pino } from 'pino';

import { nextLink } from '../helpers/link.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

describe('administration', () => {
    const logs: string[] = [];
    let t: TestServer;
    let admin: TestUser;
    let someone: TestUser;

    const promote = (user: TestUser) => t.database.db('users').where({ id: user.id }).update({ is_admin: true });
    const insertJob = async (user: TestUser, id: string, status: string) => {
        await t.database.db('jobs').insert({ id, user_id: user.id, language: 'python', code: 'print(1)', status, timeout_ms: 1000, memory_mb: 64 });
    };

    before(async () => {
        const stream = new Writable({ write: (chunk, _encoding, done) => (logs.push(String(chunk)), done()) });
        t = await startTestServer({ logger: pino(loggerOptions('info', 'collab-test'), stream) });
        admin = await t.user('admin');
        someone = await t.user('someone');
        await promote(admin);
    });
    after(() => t.stop());

    const routes: Array<[string, string, unknown?]> = [
        ['GET', '/api/admin/users/'],
        ['PATCH', '/api/admin/users/1/', { is_active: false }],
        ['PATCH', '/api/admin/users/1/', { is_active: 'not a boolean' }],
        ['GET', '/api/admin/stats/'],
        ['POST', '/api/admin/jobs/job_unknown0000/retry/']
    ];
    for (const [method, url, payload] of routes) {
        it(`answers ${method} ${url} with 401 anonymously and 403 to a non-admin`, async () => {
            assert.equal((await t.call(method, url, { payload })).statusCode, 401);
            assert.equal((await t.call(method, url, { payload, token: someone.access })).statusCode, 403);
        });
    }

    it('lists and searches users, case-insensitively, with pagination', async () => {
        const all = await t.call('GET', '/api/admin/users?limit=1', { token: admin.access });
        assert.equal(all.statusCode, 200);
        assert.equal((all.result as unknown[]).length, 1);
        assert.ok(nextLink(all.headers.link), 'a next page');
        const keys = Object.keys((all.result as object[])[0]!).sort();
        assert.deepEqual(keys, ['created_at', 'email', 'id', 'is_active', 'is_admin', 'last_login_at', 'name']);

        const found = await t.call('GET', `/api/admin/users/?q=${encodeURIComponent(someone.email.toUpperCase())}`, { token: admin.access });
        assert.deepEqual((found.result as Array<{ id: number }>).map((user) => user.id), [someone.id]);
        const none = await t.call('GET', '/api/admin/users/?q=%25', { token: admin.access });
        assert.deepEqual(none.result, [], 'LIKE wildcards in q are literal');
    });

    it('deactivates a user at once: tokens, refresh, login and queued jobs', async () => {
        const victim = await t.user('victim');
        await insertJob(victim, 'job_queuedvictim01', 'queued');
        assert.equal((await t.call('GET', '/api/auth/me', { token: victim.access })).statusCode, 200);

        const res = await t.call('PATCH', `/api/admin/users/${victim.id}/`, { token: admin.access, payload: { is_active: false } });
        assert.equal(res.statusCode, 200);
        assert.equal((res.result as { is_active: boolean }).is_active, false);

        assert.equal((await t.call('GET', '/api/auth/me', { token: victim.access })).statusCode, 401);
        assert.equal((await t.call('POST', '/api/auth/refresh', { payload: { refresh: victim.refresh } })).statusCode, 401);
        const login = await t.call('POST', '/api/auth/login', { payload: { email: victim.email, password: 'correct horse battery' } });
        assert.equal(login.statusCode, 401);
        const job = await t.database.db('jobs').where({ id: 'job_queuedvictim01' }).first();
        assert.equal(job.status, 'cancelled');

        const back = await t.call('PATCH', `/api/admin/users/${victim.id}`, { token: admin.access, payload: { is_active: true } });
        assert.equal(back.statusCode, 200);
        const again = await t.call('POST', '/api/auth/login', { payload: { email: victim.email, password: 'correct horse battery' } });
        assert.equal(again.statusCode, 200);
        assert.equal((await t.call('GET', '/api/auth/me', { token: (again.result as { access: string }).access })).statusCode, 200);
        assert.equal((await t.call('POST', '/api/auth/refresh', { payload: { refresh: victim.refresh } })).statusCode, 401, 'revoked for good');
    });

    it('refuses to demote or deactivate the last active admin', async () => {
        for (const payload of [{ is_admin: false }, { is_active: false }]) {
            const res = await t.call('PATCH', `/api/admin/users/${admin.id}`, { token: admin.access, payload });
            assert.equal(res.statusCode, 409, JSON.stringify(payload));
        }

        const second = await t.user('second-admin');
        assert.equal((await t.call('PATCH', `/api/admin/users/${second.id}`, { token: admin.access, payload: { is_admin: true } })).statusCode, 200);
        assert.equal((await t.call('GET', '/api/admin/stats', { token: second.access })).statusCode, 200, 'a promoted admin is an admin at once');
        assert.equal((await t.call('PATCH', `/api/admin/users/${second.id}`, { token: admin.access, payload: { is_admin: false } })).statusCode, 200);
        assert.equal((await t.call('GET', '/api/admin/stats', { token: second.access })).statusCode, 403, 'a demoted admin is not');
    });

    it('validates the change and 404s an unknown user', async () => {
        const empty = await t.call('PATCH', `/api/admin/users/${someone.id}`, { token: admin.access, payload: {} });
        assert.equal(empty.statusCode, 400);
        const unknown = await t.call('PATCH', '/api/admin/users/999999', { token: admin.access, payload: { is_active: true } });
        assert.equal(unknown.statusCode, 404);
    });

    it('reports counts, jobs by status and live workers', async () => {
        await insertJob(someone, 'job_failedstats01', 'failed');
        await advertiseWorker(t.server.app.redis, t.config.redisPrefix, {
            id: 'worker-a', languages: ['python'], versions: { python: '3.11' }, concurrency: 2, running: 1, last_seen: new Date().toISOString()
        }, 5_000);
        const res = await t.call('GET', '/api/admin/stats', { token: admin.access });
        assert.equal(res.statusCode, 200);
        const stats = res.result as { users: number; jobs: Record<string, number>; workers: Array<{ id: string; running: number }>; sockets: object };
        assert.ok(stats.users >= 3);
        assert.ok(stats.jobs.failed! >= 1);
        assert.equal(stats.jobs.succeeded, 0);
        assert.deepEqual(stats.workers.map((worker) => [worker.id, worker.running]), [['worker-a', 1]]);
        assert.equal(typeof stats.sockets, 'object');
    });

    it('retries only jobs that ended in error', async () => {
        await insertJob(someone, 'job_erroredretry1', 'error');
        await insertJob(someone, 'job_succeededret1', 'succeeded');
        const retried = await t.call('POST', '/api/admin/jobs/job_erroredretry1/retry', { token: admin.access });
        assert.equal(retried.statusCode, 202);
        assert.equal((await t.database.db('jobs').where({ id: 'job_erroredretry1' }).first()).status, 'queued');
        assert.equal((await t.call('POST', '/api/admin/jobs/job_succeededret1/retry', { token: admin.access })).statusCode, 409);
        assert.equal((await t.call('POST', '/api/admin/jobs/job_nosuchjob0001/retry', { token: admin.access })).statusCode, 404);
    });

    it('writes an audit line with the acting admin and no secrets', () => {
        const audits = logs.filter((line) => line.includes('"audit":true')).map((line) => JSON.parse(line));
        assert.ok(audits.some((entry) => entry.action === 'user.update' && entry.admin_id === admin.id));
        assert.ok(audits.some((entry) => entry.action === 'job.retry' && entry.admin_id === admin.id));
        const text = logs.join('');
        for (const secret of [admin.access, admin.refresh, someone.access, 'correct horse battery']) {
            assert.equal(text.includes(secret), false);
        }
    });
});
