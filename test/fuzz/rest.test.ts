import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { advertiseWorker } from '@collab/core';
import type { ServerInjectOptions } from '@hapi/hapi';
import fc from 'fast-check';
import { Redis } from 'ioredis';

import { REDIS_URL } from '../helpers/config.js';
import { anyJson, compact, deepJson, fieldsOf, invalidUtf8, nastyString, percentEncode, fuzzParameters, recordCrashes, type CrashRecorder } from '../helpers/fuzz.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

/** Field names of the API's bodies, so generated bodies reach validation and past it. */
const FIELDS = ['name', 'description', 'email', 'password', 'refresh', 'role', 'user_id', 'content', 'base_revision', 'event', 'payload', 'code', 'language', 'stdin', 'workspace_id', 'timeout_ms', 'memory_mb', 'is_active', 'is_admin', 'file'];
const QUERY_KEYS = ['limit', 'cursor', 'after', 'epoch', 'status', 'workspace_id', 'q', 'since', 'token'];

/** Ids the fixture has, named so that a request can be generated before the fixture is (re)built. */
type Known = '$project' | '$workspace' | '$owner' | '$other' | '$job' | '$file';

interface Fixture {
    owner: TestUser;
    other: TestUser;
    project: number;
    workspace: number;
    job: string;
}

const pathValue = (name: string): fc.Arbitrary<string> => {
    const known: Known[] = name === 'job_id' ? ['$job'] : name === 'user_id' ? ['$owner', '$other'] : name === 'path' ? ['$file'] : ['$project', '$workspace', '$owner'];
    return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...known) },
        { weight: 1, arbitrary: fc.integer({ min: -5, max: 1_000_000 }).map(String) },
        { weight: 1, arbitrary: fc.constantFrom('0', '-1', '1.5', '1e3', '99999999999999999999', '0x10', 'job_', 'job_x', ' 1', 'a/b', '..', '%2e%2e', '%00', '%ff', '%', '%zz') },
        { weight: 2, arbitrary: nastyString.map((s) => percentEncode(s.slice(0, 300), name === 'path' ? '/' : '')) }
    );
};

const query = fc.oneof(
    { weight: 3, arbitrary: fc.constant('') },
    { weight: 3, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...QUERY_KEYS), nastyString.map((s) => s.slice(0, 30))), nastyString.map((s) => s.slice(0, 300)), { minKeys: 1, maxKeys: 4 }).map((q) => '?' + Object.entries(q).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&')) },
    { weight: 1, arbitrary: fc.constantFrom('?limit=-1', '?limit=1e9', '?cursor=%ff', '?after=%00', '?a=%', '?&&=&', '?limit=1&limit=2', '?status[]=x', '?q=%25%00') }
);

const template = fc.oneof(
    fc.record({ name: nastyString, description: fc.option(nastyString, { nil: undefined }) }),
    fc.record({ event: fc.oneof(fc.constantFrom('note', 'file_change', 'file_delete', 'a'), nastyString), payload: fc.oneof(anyJson, fc.record({ file: nastyString, content: nastyString })) }),
    fc.record({ content: nastyString, base_revision: fc.option(anyJson, { nil: undefined }) }),
    fc.record({ code: nastyString, language: fc.oneof(fc.constantFrom('python', 'bash'), nastyString), stdin: fc.option(nastyString, { nil: undefined }), timeout_ms: fc.option(anyJson, { nil: undefined }), memory_mb: fc.option(anyJson, { nil: undefined }) }),
    fc.record({ email: nastyString, password: nastyString, name: fc.option(nastyString, { nil: undefined }) }),
    fc.record({ user_id: anyJson, email: fc.option(nastyString, { nil: undefined }), role: fc.oneof(fc.constantFrom('owner', 'collaborator', 'viewer'), nastyString) }),
    fc.record({ is_active: anyJson, is_admin: fc.option(anyJson, { nil: undefined }) })
);

/** A request body as bytes, with the content type it is sent under. */
const body: fc.Arbitrary<{ payload?: string | Buffer; type?: string }> = fc.tuple(
    fc.oneof(
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 4, arbitrary: template.map((value) => JSON.stringify(value)) },
        { weight: 2, arbitrary: fieldsOf(FIELDS).map((value) => JSON.stringify(value)) },
        { weight: 1, arbitrary: anyJson.map((value) => JSON.stringify(value) ?? 'null') },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...FIELDS), deepJson).map(([field, deep]) => `{"${field}":${deep}}`) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...FIELDS), invalidUtf8).map(([field, bytes]) => Buffer.concat([Buffer.from(`{"${field}":"`), bytes, Buffer.from('"}')])) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
        { weight: 1, arbitrary: fc.constantFrom('{', '{"name":', '[]', '""', 'null', '{"name":"a"}{"name":"b"}', 'name=a%00b&x=1', '{"__proto__":{"is_admin":true}}', '{"name":"x","name":"y"}') },
        { weight: 1, arbitrary: fc.constantFrom('content', 'code', 'name').map((field) => `{"${field}":"${'x'.repeat(1_100_000)}"}`) }
    ),
    fc.oneof(
        { weight: 6, arbitrary: fc.constant('application/json') },
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 2, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/octet-stream', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/*', ';;', 'x/y') },
        { weight: 1, arbitrary: nastyString.map((s) => s.replace(/[^\t\x20-\x7e]/g, '').slice(0, 100)) }
    )
).map(([payload, type]) => ({ payload, type }));

const auth = fc.constantFrom('owner', 'owner', 'owner', 'none', 'garbage', 'refresh');

describe('REST routes under random input', () => {
    let t: TestServer;
    let redis: Redis;
    let crashes: CrashRecorder;
    let fixture: Fixture;
    let tables: string[];

    async function build(owner: TestUser, other: TestUser): Promise<Fixture> {
        await advertiseWorker(redis, t.config.redisPrefix, { id: 'fuzz-worker', languages: ['bash', 'python'], versions: { bash: '5.2', python: '3.11.2' }, concurrency: 1, running: 0, last_seen: new Date().toISOString() }, 3_600_000);
        const call = (method: string, url: string, payload?: unknown) => t.call(method, url, { token: owner.access, payload });
        const project = (await call('POST', '/api/projects/projects/', { name: 'fuzz' })).result as { id: number };
        await call('POST', `/api/projects/projects/${project.id}/members/`, { user_id: other.id, role: 'viewer' });
        const workspace = (await call('POST', `/api/projects/projects/${project.id}/workspaces/`, { name: 'w' })).result as { id: number };
        await call('PUT', `/api/projects/workspaces/${workspace.id}/files/a.txt`, { content: 'a' });
        await call('POST', `/api/projects/workspaces/${workspace.id}/events/`, { event: 'note', payload: {} });
        const job = (await call('POST', '/api/jobs/submit/', { code: 'print(1)', language: 'python', workspace_id: workspace.id })).result as { job_id: string };
        return { owner, other, project: project.id, workspace: workspace.id, job: job.job_id };
    }

    /** A fixture again after a request that succeeded in changing it: the owner (the only admin) may even have been deactivated. */
    async function rebuild(): Promise<Fixture> {
        const alive = fixture && (await t.call('GET', '/api/auth/me/', { token: fixture.owner.access })).statusCode === 200;
        const owner = alive ? fixture.owner : await t.user('owner');
        const other = alive ? fixture.other : await t.user('other');
        await t.database.db('users').where({ id: owner.id }).update({ is_admin: true, is_active: true });
        await t.database.db('users').where({ id: other.id }).update({ is_admin: false });
        return build(owner, other);
    }

    const resolve = (value: string): string => ({
        $project: String(fixture.project),
        $workspace: String(fixture.workspace),
        $owner: String(fixture.owner.id),
        $other: String(fixture.other.id),
        $job: fixture.job,
        $file: 'a.txt'
    } as Record<string, string>)[value] ?? value;

    /** A digest of every row of every table: equal digests, unchanged database. */
    async function snapshot(): Promise<Record<string, string>> {
        const parts = tables.map((table) => `(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM "${table}" t) AS "${table}"`);
        const { rows } = await t.database.db.raw(`SELECT ${parts.join(', ')}`);
        return rows[0];
    }

    before(async () => {
        crashes = recordCrashes();
        t = await startTestServer();
        redis = new Redis(REDIS_URL);
        fixture = await rebuild();
        const { rows } = await t.database.db.raw("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'knex%' ORDER BY 1");
        tables = rows.map((row: { table_name: string }) => row.table_name);
    });

    after(async () => {
        crashes.stop();
        redis.disconnect();
        await t.stop();
    });

    it('never answers 5xx on any route, and a refused request changes nothing in the database', async () => {
        const routes = t.server.table().filter((route) => ['get', 'post', 'put', 'patch', 'delete'].includes(route.method));
        assert.ok(routes.length > 30, 'the route table is enumerated');
        const params = (path: string) => [...path.matchAll(/\{(\w+)\*?\??\}/g)].map((m) => m[1]!);
        // API routes weigh more than the static files of the Swagger UI.
        const route = fc.oneof(...routes.map((r) => ({ weight: r.path.startsWith('/api/') ? 5 : 1, arbitrary: fc.constant(r) })));
        const request = route.chain((route) => fc.record({
            method: fc.constant(route.method.toUpperCase()),
            path: fc.constant(route.path),
            values: fc.tuple(...params(route.path).map(pathValue), fc.constant('')),
            slash: fc.boolean(),
            query,
            body,
            auth
        }));

        await fc.assert(fc.asyncProperty(request, async (r) => {
            let i = 0;
            const path = r.path.replace(/\{(\w+)\*?\??\}/g, () => resolve(r.values[i++]!));
            const url = `${path}${r.slash && !path.endsWith('/') ? '/' : ''}${r.query}`;
            const headers: Record<string, string> = {};
            const token = { owner: fixture.owner.access, refresh: fixture.owner.refresh, garbage: 'x.y.z', none: undefined }[r.auth];
            if (token) {
                headers.authorization = `Bearer ${token}`;
            }

            if (r.body.type !== undefined) {
                headers['content-type'] = r.body.type;
            }

            const mark = crashes.errors.length;
            const before = await snapshot();
            const res = await t.server.inject({ method: r.method, url, headers, payload: r.body.payload } as ServerInjectOptions);
            const described = compact(`${r.method} ${url} (${r.auth}, ${r.body.type}) → ${res.statusCode} ${res.payload.slice(0, 300)}`);
            assert.ok(res.statusCode < 500, described);
            if (res.statusCode >= 400) {
                assert.deepEqual(await snapshot(), before, `refused but changed the database: ${described}`);
            }
            else if (r.method === 'DELETE' || r.method === 'PATCH' || r.method === 'PUT') {
                fixture = await rebuild();
            }

            assert.deepEqual(crashes.errors.slice(mark), [], described);
        }), fuzzParameters(400));

        assert.equal((await t.call('GET', '/healthz')).statusCode, 200);
        assert.deepEqual(crashes.errors, []);
    });
});
