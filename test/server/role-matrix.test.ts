import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Knex } from 'knex';

import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

type Caller = 'anonymous' | 'outsider' | 'viewer' | 'collaborator' | 'owner';

/** A fresh project: owner, collaborator, viewer and `member` (a viewer to act on), one workspace, one file. */
interface Fixture {
    project: number;
    workspace: number;
}

interface Row {
    method: string;
    /** With `{project}`, `{workspace}` and `{member}` filled in per fixture. */
    path: string;
    payload?: () => unknown;
    /** Statuses of outsider, viewer, collaborator, owner (anonymous is always 401). */
    expect: [number, number, number, number];
}

const CALLERS: Caller[] = ['anonymous', 'outsider', 'viewer', 'collaborator', 'owner'];

const ROUTES: Row[] = [
    { method: 'POST', path: '/api/projects/projects', payload: () => ({ name: 'new' }), expect: [201, 201, 201, 201] },
    { method: 'GET', path: '/api/projects/projects', expect: [200, 200, 200, 200] },
    { method: 'GET', path: '/api/projects/projects/{project}', expect: [404, 200, 200, 200] },
    { method: 'PUT', path: '/api/projects/projects/{project}', payload: () => ({ name: 'put' }), expect: [404, 403, 200, 200] },
    { method: 'PATCH', path: '/api/projects/projects/{project}', payload: () => ({ description: 'patched' }), expect: [404, 403, 200, 200] },
    { method: 'DELETE', path: '/api/projects/projects/{project}', expect: [404, 403, 403, 204] },
    { method: 'GET', path: '/api/projects/projects/{project}/members', expect: [404, 200, 200, 200] },
    { method: 'POST', path: '/api/projects/projects/{project}/members', payload: () => ({ user_id: users.newcomer.id, role: 'viewer' }), expect: [404, 403, 403, 201] },
    { method: 'PATCH', path: '/api/projects/projects/{project}/members/{member}', payload: () => ({ role: 'collaborator' }), expect: [404, 403, 403, 200] },
    { method: 'DELETE', path: '/api/projects/projects/{project}/members/{member}', expect: [404, 403, 403, 204] },
    { method: 'GET', path: '/api/projects/projects/{project}/workspaces', expect: [404, 200, 200, 200] },
    { method: 'POST', path: '/api/projects/projects/{project}/workspaces', payload: () => ({ name: 'ws' }), expect: [404, 403, 201, 201] },
    { method: 'GET', path: '/api/projects/workspaces/{workspace}', expect: [404, 200, 200, 200] },
    { method: 'PATCH', path: '/api/projects/workspaces/{workspace}', payload: () => ({ name: 'renamed' }), expect: [404, 403, 200, 200] },
    { method: 'DELETE', path: '/api/projects/workspaces/{workspace}', expect: [404, 403, 403, 204] },
    { method: 'GET', path: '/api/projects/workspaces/{workspace}/files', expect: [404, 200, 200, 200] },
    { method: 'GET', path: '/api/projects/workspaces/{workspace}/files/dir/f.txt', expect: [404, 200, 200, 200] },
    { method: 'PUT', path: '/api/projects/workspaces/{workspace}/files/dir/f.txt', payload: () => ({ content: 'new' }), expect: [404, 403, 200, 200] },
    { method: 'DELETE', path: '/api/projects/workspaces/{workspace}/files/dir/f.txt', expect: [404, 403, 204, 204] }
];

const fill = (path: string, f: Fixture) => path
    .replace('{project}', String(f.project))
    .replace('{workspace}', String(f.workspace))
    .replace('{member}', String(users.member.id));

let users: Record<Exclude<Caller, 'anonymous'> | 'member' | 'newcomer', TestUser>;

describe('role matrix', () => {
    let t: TestServer;
    before(async () => {
        t = await startTestServer();
        const names = ['outsider', 'viewer', 'collaborator', 'owner', 'member', 'newcomer'] as const;
        const created = await Promise.all(names.map((name) => t.user(name)));
        users = Object.fromEntries(names.map((name, i) => [name, created[i]!])) as typeof users;
    });
    after(() => t.stop());

    const fixture = () => t.database.db.transaction(async (trx): Promise<Fixture> => {
        const [project] = await trx('projects').insert({ name: 'Matrix', owner_id: users.owner.id }).returning('id');
        const roles = { owner: 'owner', collaborator: 'collaborator', viewer: 'viewer', member: 'viewer' } as const;
        await trx('memberships').insert(Object.entries(roles).map(([name, role]) => ({ project_id: project.id, user_id: users[name as keyof typeof roles].id, role })));
        const [workspace] = await trx('workspaces').insert({ project_id: project.id, name: 'W' }).returning('id');
        await trx('files').insert({ workspace_id: workspace.id, path: 'dir/f.txt', content: 'x', size: 1, updated_by: users.owner.id });
        const f = { project: project.id, workspace: workspace.id };
        snapshots.set(f.project, await snapshot(f, trx));
        return f;
    });

    /** Everything a fixture holds, to show that refused requests change nothing. */
    const snapshot = async (f: Fixture, db: Knex = t.database.db) => ({
        project: await db('projects').where({ id: f.project }).first(),
        memberships: await db('memberships').where({ project_id: f.project }).orderBy('user_id'),
        workspaces: await db('workspaces').where({ project_id: f.project }).orderBy('id'),
        files: await db('files').where({ workspace_id: f.workspace }).orderBy('path')
    });
    const snapshots = new Map<number, unknown>();
    const snapshotOf = (f: Fixture) => snapshots.get(f.project);

    for (const row of ROUTES) {
        const expected = [401, ...row.expect];
        it(`${row.method} ${row.path} answers ${CALLERS.map((c, i) => `${c} ${expected[i]}`).join(', ')}`, async () => {
            for (const [i, caller] of CALLERS.entries()) {
                for (const slash of ['', '/']) {
                    const f = await fixture();
                    const url = fill(row.path, f) + slash;
                    const token = caller === 'anonymous' ? undefined : users[caller].access;
                    const res = await t.call(row.method, url, { token, payload: row.payload?.() });
                    assert.equal(res.statusCode, expected[i], `${caller}: ${row.method} ${url}: ${res.payload}`);
                    if (res.statusCode >= 400) {
                        assert.deepEqual(await snapshot(f), await snapshotOf(f), `${caller}: a refused ${row.method} changes nothing`);
                    }

                    if (res.statusCode === 403) {
                        assert.match((res.result as { message: string }).message, new RegExp(`^Your role \\(${caller}\\) does not allow `));
                    }

                    if (res.statusCode === 404) {
                        assert.match((res.result as { message: string }).message, /^(Project|Workspace) not found$/);
                    }
                }
            }
        });
    }

    it('lets any member, even a viewer, leave a project', async () => {
        const f = await fixture();
        for (const caller of ['viewer', 'collaborator'] as const) {
            const res = await t.call('DELETE', `/api/projects/projects/${f.project}/members/${users[caller].id}/`, { token: users[caller].access });
            assert.equal(res.statusCode, 204, caller);
        }
    });
});
