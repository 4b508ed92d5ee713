import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { advertiseWorker } from '@collab/core';
import { AuthenticationError, CollabClient, ConflictError, NotFoundError, PermissionError } from '@collab/sdk';
import { Redis } from 'ioredis';

import { REDIS_URL } from '../helpers/config.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

describe('client.admin', () => {
    let t: TestServer;
    let redis: Redis;
    let admin: CollabClient;
    let adminUser: TestUser;
    let someone: TestUser;
    const as = (user: TestUser) => new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh });

    before(async () => {
        t = await startTestServer({ listen: true });
        redis = new Redis(REDIS_URL);
        adminUser = await t.user('admin');
        someone = await t.user('someone');
        await t.database.db('users').where({ id: adminUser.id }).update({ is_admin: true });
        admin = as(adminUser);
    });
    after(async () => {
        redis.disconnect();
        await t.stop();
    });

    it('lists users page by page and searches them', async () => {
        const all = await admin.admin.users({ limit: 1 }).toArray();
        assert.deepEqual(all.map((u) => u.id), [adminUser.id, someone.id]);
        assert.deepEqual(Object.keys(all[0]!).sort(), ['created_at', 'email', 'id', 'is_active', 'is_admin', 'last_login_at', 'name']);
        const found = await admin.admin.users({ q: someone.email.toUpperCase() }).toArray();
        assert.deepEqual(found.map((u) => u.email), [someone.email]);
    });

    it('refuses everyone but admins', async () => {
        await assert.rejects(as(someone).admin.stats(), PermissionError);
        await assert.rejects(as(someone).admin.users().toArray(), PermissionError);
    });

    it('shows stats with sockets per instance, jobs by status and live workers', async () => {
        await advertiseWorker(redis, t.config.redisPrefix, { id: 'w1', languages: ['python'], versions: { python: '3' }, concurrency: 2, running: 1, last_seen: new Date().toISOString() }, 60_000);
        const stats = await admin.admin.stats();
        assert.equal(stats.users, 2);
        assert.equal(typeof stats.sockets, 'object');
        assert.deepEqual(Object.keys(stats.jobs).sort(), ['cancelled', 'error', 'failed', 'queued', 'running', 'succeeded', 'timed_out']);
        assert.deepEqual(stats.workers.map((w) => [w.id, w.languages, w.concurrency, w.running]), [['w1', ['python'], 2, 1]]);
    });

    it('re-queues a job that ended in error, and refuses others', async () => {
        const insert = (id: string, status: string) => t.database.db('jobs').insert({ id, user_id: someone.id, language: 'python', code: 'print(1)', status, timeout_ms: 1000, memory_mb: 64 });
        await insert('job_erroredjob0001', 'error');
        await insert('job_succeeded00001', 'succeeded');
        const retried = await admin.admin.retryJob('job_erroredjob0001');
        assert.deepEqual([retried.job_id, retried.status], ['job_erroredjob0001', 'queued']);
        await assert.rejects(admin.admin.retryJob('job_succeeded00001'), ConflictError);
        await assert.rejects(admin.admin.retryJob('job_unknown000001'), NotFoundError);
    });

    it('deactivates and reactivates a user: their session dies at once', async () => {
        const victim = await t.user('victim');
        const theirs = as(victim);
        assert.equal((await theirs.auth.me()).id, victim.id);
        const updated = await admin.admin.updateUser(victim.id, { is_active: false });
        assert.equal(updated.is_active, false);
        await assert.rejects(theirs.auth.me(), AuthenticationError);
        assert.equal((await admin.admin.updateUser(victim.id, { is_active: true, is_admin: true })).is_admin, true);
        assert.equal((await admin.admin.updateUser(victim.id, { is_admin: false })).is_admin, false);
        await assert.rejects(admin.admin.updateUser(adminUser.id, { is_admin: false }), ConflictError);
    });
});
