import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { nextLink } from '../helpers/link.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

interface WorkspaceBody {
    id: number;
    project: number;
    name: string;
    description: string;
    created_at: string;
    updated_at: string;
}

describe('workspaces', () => {
    let t: TestServer;
    let owner: TestUser;
    let bob: TestUser;
    before(async () => {
        t = await startTestServer();
        [owner, bob] = await Promise.all([t.user('owner'), t.user('bob')]);
    });
    after(() => t.stop());

    const project = async () => {
        const res = await t.call('POST', '/api/projects/projects/', { token: owner.access, payload: { name: 'P' } });
        return (res.result as { id: number }).id;
    };

    const create = async (projectId: number, payload: object = { name: 'W' }, token = owner.access) => {
        const res = await t.call('POST', `/api/projects/projects/${projectId}/workspaces/`, { token, payload });
        assert.equal(res.statusCode, 201, res.payload);
        return res.result as WorkspaceBody;
    };

    const join = (projectId: number, user: TestUser, role: string) =>
        t.database.db('memberships').insert({ project_id: projectId, user_id: user.id, role });

    it('creates a workspace in a project', async () => {
        const projectId = await project();
        const ws = await create(projectId, { name: ' Main ', description: 'first' });
        assert.deepEqual(Object.keys(ws).sort(), ['created_at', 'description', 'id', 'name', 'project', 'updated_at']);
        assert.equal(ws.project, projectId);
        assert.equal(ws.name, 'Main');
        assert.equal(ws.description, 'first');
        assert.equal(ws.created_at, new Date(ws.created_at).toISOString());
        assert.equal((await create(projectId, { name: 'Bare' })).description, '');
    });

    it('names the field of an invalid workspace', async () => {
        const projectId = await project();
        for (const [payload, field] of [[{}, 'name'], [{ name: '' }, 'name'], [{ name: 'x', description: 1 }, 'description'], [{ name: 'x', project: 2 }, 'project']] as const) {
            const res = await t.call('POST', `/api/projects/projects/${projectId}/workspaces/`, { token: owner.access, payload });
            assert.equal(res.statusCode, 400);
            assert.equal((res.result as { field: string }).field, field);
        }
    });

    it('lists the workspaces of one project only', async () => {
        const first = await project();
        const second = await project();
        const a = await create(first, { name: 'a' });
        await create(second, { name: 'other' });
        const b = await create(first, { name: 'b' });
        const res = await t.call('GET', `/api/projects/projects/${first}/workspaces`, { token: owner.access });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.result, [a, b]);
    });

    it('shows, updates and deletes a workspace by id', async () => {
        const projectId = await project();
        const ws = await create(projectId);
        const shown = await t.call('GET', `/api/projects/workspaces/${ws.id}/`, { token: owner.access });
        assert.equal(shown.statusCode, 200);
        assert.deepEqual(shown.result, ws);

        const patched = await t.call('PATCH', `/api/projects/workspaces/${ws.id}`, { token: owner.access, payload: { description: 'changed' } });
        assert.equal(patched.statusCode, 200);
        const updated = patched.result as WorkspaceBody;
        assert.equal(updated.name, 'W');
        assert.equal(updated.description, 'changed');
        assert.ok(updated.updated_at > ws.updated_at);
        assert.equal((await t.call('PATCH', `/api/projects/workspaces/${ws.id}`, { token: owner.access, payload: {} })).statusCode, 400);

        await t.call('PUT', `/api/projects/workspaces/${ws.id}/files/a.txt`, { token: owner.access, payload: { content: 'a' } });
        assert.equal((await t.call('DELETE', `/api/projects/workspaces/${ws.id}/`, { token: owner.access })).statusCode, 204);
        assert.equal((await t.database.db('workspaces').where({ id: ws.id })).length, 0);
        assert.equal((await t.database.db('files').where({ workspace_id: ws.id })).length, 0, 'files go with their workspace');
        assert.equal((await t.call('GET', `/api/projects/workspaces/${ws.id}/`, { token: owner.access })).statusCode, 404);
    });

    it('lets collaborators create and edit but only owners delete', async () => {
        const projectId = await project();
        await join(projectId, bob, 'collaborator');
        const ws = await create(projectId, { name: 'by bob' }, bob.access);
        assert.equal((await t.call('PATCH', `/api/projects/workspaces/${ws.id}/`, { token: bob.access, payload: { name: 'renamed' } })).statusCode, 200);
        const refused = await t.call('DELETE', `/api/projects/workspaces/${ws.id}/`, { token: bob.access });
        assert.equal(refused.statusCode, 403);
        assert.equal((refused.result as { message: string }).message, 'Your role (collaborator) does not allow deleting this workspace');
    });

    it('hides the workspaces of other projects with the same 404 as a missing one', async () => {
        const projectId = await project();
        const ws = await create(projectId);
        const hidden = await t.call('GET', `/api/projects/workspaces/${ws.id}/`, { token: bob.access });
        const missing = await t.call('GET', '/api/projects/workspaces/2000000000/', { token: bob.access });
        assert.equal(hidden.statusCode, 404);
        assert.deepEqual(hidden.result, missing.result);
        assert.equal((await t.call('GET', `/api/projects/projects/${projectId}/workspaces/`, { token: bob.access })).statusCode, 404);
        assert.equal((await t.call('GET', '/api/projects/workspaces/3000000000/', { token: bob.access })).statusCode, 400);
    });

    it('pages through workspaces by id', async () => {
        const projectId = await project();
        const created = [];
        for (let i = 0; i < 5; i++) {
            created.push((await create(projectId, { name: `w${i}` })).id);
        }

        const first = await t.call('GET', `/api/projects/projects/${projectId}/workspaces/?limit=3`, { token: owner.access, headers: { host: 'collab.test' } });
        assert.deepEqual((first.result as WorkspaceBody[]).map((w) => w.id), created.slice(0, 3));
        const url = nextLink(first.headers.link)!;
        assert.equal(url.host, 'collab.test');
        const second = await t.call('GET', url.pathname + url.search, { token: owner.access });
        assert.deepEqual((second.result as WorkspaceBody[]).map((w) => w.id), created.slice(3));
        assert.equal(second.headers.link, undefined);
    });
});
