import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { advertiseFakeWorker, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

const NUL = '\u0000';
const TABLES = ['users', 'refresh_tokens', 'projects', 'memberships', 'workspaces', 'files', 'jobs'];

interface Case {
    name: string;
    method: string;
    url: string;
    payload?: unknown;
    headers?: Record<string, string>;
    /** Who sends it: a member (owner of the project), an admin, or nobody. */
    as?: 'owner' | 'admin' | 'anonymous';
    field?: string;
    /** 400 unless the contract says otherwise (a job id of the wrong shape is a 404). */
    status?: number;
}

/** NUL in every text field of every route that takes one (DESIGN §4: 400 naming the field, never 500, nothing written). */
describe('NUL characters in requests', () => {
    let t: TestServer;
    let owner: TestUser;
    let admin: TestUser;
    let other: TestUser;
    let project: number;
    let workspace: number;

    // Every row of every table, in a stable order: what "nothing changed" compares.
    async function snapshot(): Promise<string> {
        const db = t.database.db;
        const tables = await Promise.all(TABLES.map((table) => db(table).select('*').orderByRaw('1')));
        return JSON.stringify(tables);
    }

    before(async () => {
        t = await startTestServer();
        owner = await t.user('owner');
        admin = await t.user('admin');
        other = await t.user('other');
        await t.database.db('users').where({ id: admin.id }).update({ is_admin: true });
        project = ((await t.call('POST', '/api/projects/projects/', { token: owner.access, payload: { name: 'p' } })).result as { id: number }).id;
        workspace = ((await t.call('POST', `/api/projects/projects/${project}/workspaces/`, { token: owner.access, payload: { name: 'w' } })).result as { id: number }).id;
        await t.call('POST', `/api/projects/projects/${project}/members/`, { token: owner.access, payload: { user_id: other.id, role: 'viewer' } });
        await t.call('PUT', `/api/projects/workspaces/${workspace}/files/a.txt`, { token: owner.access, payload: { content: 'a' } });
        await advertiseFakeWorker(t, { python: '3' });
    });

    after(async () => {
        await t.stop();
    });

    const password = 'correct horse battery';
    const job = { code: 'print(1)', language: 'python' };
    const cases = (): Case[] => [
        { name: 'register email', method: 'POST', url: '/api/auth/register/', as: 'anonymous', payload: { email: `a${NUL}@example.com`, password }, field: 'email' },
        { name: 'register password', method: 'POST', url: '/api/auth/register/', as: 'anonymous', payload: { email: 'nul-pw@example.com', password: `${password}${NUL}` }, field: 'password' },
        { name: 'register name', method: 'POST', url: '/api/auth/register/', as: 'anonymous', payload: { email: 'nul-name@example.com', password, name: `a${NUL}b` }, field: 'name' },
        { name: 'login email', method: 'POST', url: '/api/auth/login/', as: 'anonymous', payload: { email: `${owner.email}${NUL}`, password }, field: 'email' },
        { name: 'login password', method: 'POST', url: '/api/auth/login/', as: 'anonymous', payload: { email: owner.email, password: `${password}${NUL}` }, field: 'password' },
        { name: 'refresh token', method: 'POST', url: '/api/auth/refresh/', as: 'anonymous', payload: { refresh: `${owner.refresh}${NUL}` }, field: 'refresh' },
        { name: 'logout token', method: 'POST', url: '/api/auth/logout/', as: 'anonymous', payload: { refresh: `x${NUL}` }, field: 'refresh' },
        { name: 'project name', method: 'POST', url: '/api/projects/projects/', payload: { name: `a${NUL}b` }, field: 'name' },
        { name: 'project description', method: 'POST', url: '/api/projects/projects/', payload: { name: 'n', description: `a${NUL}` }, field: 'description' },
        { name: 'a key of the body', method: 'POST', url: '/api/projects/projects/', payload: { name: 'n', [`x${NUL}`]: 1 }, field: `x${NUL}` },
        { name: 'project PUT name', method: 'PUT', url: `/api/projects/projects/${project}/`, payload: { name: `a${NUL}` }, field: 'name' },
        { name: 'project PUT description', method: 'PUT', url: `/api/projects/projects/${project}/`, payload: { name: 'n', description: NUL }, field: 'description' },
        { name: 'project PATCH name', method: 'PATCH', url: `/api/projects/projects/${project}/`, payload: { name: `a${NUL}` }, field: 'name' },
        { name: 'project PATCH description', method: 'PATCH', url: `/api/projects/projects/${project}/`, payload: { description: NUL }, field: 'description' },
        { name: 'member email', method: 'POST', url: `/api/projects/projects/${project}/members/`, payload: { email: `${admin.email}${NUL}`, role: 'viewer' }, field: 'email' },
        { name: 'member role', method: 'POST', url: `/api/projects/projects/${project}/members/`, payload: { user_id: admin.id, role: `viewer${NUL}` }, field: 'role' },
        { name: 'member PATCH role', method: 'PATCH', url: `/api/projects/projects/${project}/members/${other.id}/`, payload: { role: `owner${NUL}` }, field: 'role' },
        { name: 'workspace name', method: 'POST', url: `/api/projects/projects/${project}/workspaces/`, payload: { name: `w${NUL}` }, field: 'name' },
        { name: 'workspace description', method: 'POST', url: `/api/projects/projects/${project}/workspaces/`, payload: { name: 'w', description: NUL }, field: 'description' },
        { name: 'workspace PATCH name', method: 'PATCH', url: `/api/projects/workspaces/${workspace}/`, payload: { name: `w${NUL}` }, field: 'name' },
        { name: 'workspace PATCH description', method: 'PATCH', url: `/api/projects/workspaces/${workspace}/`, payload: { description: NUL }, field: 'description' },
        { name: 'file content', method: 'PUT', url: `/api/projects/workspaces/${workspace}/files/a.txt`, payload: { content: `a${NUL}b` }, field: 'content' },
        { name: 'file path (PUT)', method: 'PUT', url: `/api/projects/workspaces/${workspace}/files/a%00.txt`, payload: { content: 'a' }, field: 'path' },
        { name: 'file path (GET)', method: 'GET', url: `/api/projects/workspaces/${workspace}/files/a%00.txt`, field: 'path' },
        { name: 'file path (DELETE)', method: 'DELETE', url: `/api/projects/workspaces/${workspace}/files/a.txt%00`, field: 'path' },
        { name: 'file list cursor', method: 'GET', url: `/api/projects/workspaces/${workspace}/files/?cursor=%00`, field: 'cursor' },
        { name: 'event name', method: 'POST', url: `/api/projects/workspaces/${workspace}/events/`, payload: { event: `chat${NUL}`, payload: {} }, field: 'event' },
        { name: 'file_change content', method: 'POST', url: `/api/projects/workspaces/${workspace}/events/`, payload: { event: 'file_change', payload: { file: 'a.txt', content: NUL } }, field: 'content' },
        { name: 'file_change file', method: 'POST', url: `/api/projects/workspaces/${workspace}/events/`, payload: { event: 'file_change', payload: { file: `b${NUL}.txt`, content: 'b' } }, field: 'path' },
        { name: 'event history epoch', method: 'GET', url: `/api/projects/workspaces/${workspace}/events/?epoch=a%00`, field: 'epoch' },
        { name: 'project list cursor', method: 'GET', url: '/api/projects/projects/?cursor=%00', field: 'cursor' },
        { name: 'job code', method: 'POST', url: '/api/jobs/submit/', payload: { ...job, code: `print(1)${NUL}` }, field: 'code' },
        { name: 'job stdin', method: 'POST', url: '/api/jobs/submit/', payload: { ...job, stdin: NUL }, field: 'stdin' },
        { name: 'job language', method: 'POST', url: '/api/jobs/submit/', payload: { ...job, language: `python${NUL}` }, field: 'language' },
        { name: 'job Idempotency-Key', method: 'POST', url: '/api/jobs/submit/', payload: job, headers: { 'idempotency-key': `k${NUL}` }, field: 'idempotency-key' },
        { name: 'job list status', method: 'GET', url: '/api/jobs/?status=queued%00', field: 'status' },
        { name: 'job id (GET)', method: 'GET', url: '/api/jobs/job_aaaaaaaa%00/', status: 404 },
        { name: 'job id (cancel)', method: 'POST', url: '/api/jobs/job_aaaaaaaa%00/cancel/', status: 404 },
        { name: 'admin user search', method: 'GET', url: '/api/admin/users/?q=a%00', as: 'admin', field: 'q' },
        { name: 'admin user PATCH', method: 'PATCH', url: `/api/admin/users/${other.id}/`, as: 'admin', payload: { is_active: `false${NUL}` }, field: 'is_active' },
        { name: 'admin retry job id', method: 'POST', url: '/api/admin/jobs/job_aaaaaaaa%00/retry/', as: 'admin', status: 404 }
    ];

    it('answers 400 naming the field (404 for a job id), and writes nothing, on every route', async () => {
        const failures: string[] = [];
        for (const entry of cases()) {
            const before = await snapshot();
            const token = entry.as === 'anonymous' ? undefined : entry.as === 'admin' ? admin.access : owner.access;
            const res = await t.call(entry.method, entry.url, { token, payload: entry.payload, headers: entry.headers });
            const body = res.result as { field?: string; message?: string };
            const status = entry.status ?? 400;
            if (res.statusCode !== status || (entry.field !== undefined && body.field !== entry.field)) {
                failures.push(`${entry.name}: ${res.statusCode} ${res.payload}`);
            }

            if (await snapshot() !== before) {
                failures.push(`${entry.name}: the database changed`);
            }
        }

        assert.deepEqual(failures, []);
    });

    it('answers 400 without internals to a data exception of PostgreSQL that no check caught', async () => {
        // A route of the test's own: a raw query PostgreSQL refuses with a class 22 error (invalid_text_representation).
        t.server.route({ method: 'GET', path: '/test/data-exception', options: { auth: false }, handler: async (request) => request.server.app.db.raw('SELECT ?::int AS n', ['a\u0001']) });
        const res = await t.call('GET', '/test/data-exception');
        assert.equal(res.statusCode, 400);
        assert.deepEqual(res.result, { statusCode: 400, error: 'Bad Request', message: 'Invalid value' });
    });

    it('does not refuse the same field once the NUL is gone (each case tests the NUL, not a broken request)', async () => {
        const failures: string[] = [];
        const clean = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null).replaceAll('\\u0000', ''));
        for (const entry of cases()) {
            if (entry.field === undefined || entry.field === 'cursor' || entry.field.includes(NUL)) {
                continue;   // job ids answer 404 either way; an empty cursor and an unknown key are invalid too
            }

            const token = entry.as === 'anonymous' ? undefined : entry.as === 'admin' ? admin.access : owner.access;
            const headers = entry.headers && Object.fromEntries(Object.entries(entry.headers).map(([key, value]) => [key, value.replaceAll(NUL, '')]));
            const payload = entry.payload === undefined ? undefined : clean(entry.payload);
            const res = await t.call(entry.method, entry.url.replaceAll('%00', ''), { token, payload, headers });
            if (res.statusCode >= 500 || (res.statusCode === 400 && (res.result as { field?: string }).field === entry.field.replaceAll(NUL, ''))) {
                failures.push(`${entry.name}: ${res.statusCode} ${res.payload}`);
            }
        }

        assert.deepEqual(failures, []);
    });
});
