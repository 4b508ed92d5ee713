import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

interface ProjectBody {
    id: number;
    name: string;
    description: string;
    created_at: string;
    updated_at: string;
    owner: number;
    role: string;
}

describe('projects', () => {
    let t: TestServer;
    let ada: TestUser;
    let bob: TestUser;
    before(async () => {
        t = await startTestServer();
        [ada, bob] = await Promise.all([t.user('ada'), t.user('bob')]);
    });
    after(() => t.stop());

    const create = async (user: TestUser, payload: object = { name: 'Project' }) => {
        const res = await t.call('POST', '/api/projects/projects/', { token: user.access, payload });
        assert.equal(res.statusCode, 201, res.payload);
        return res.result as ProjectBody;
    };

    const join = (projectId: number, user: TestUser, role: string) =>
        t.database.db('memberships').insert({ project_id: projectId, user_id: user.id, role });

    it('creates a project and makes the creator its owner', async () => {
        const project = await create(ada, { name: '  Apollo  ', description: 'to the moon' });
        assert.deepEqual(Object.keys(project).sort(), ['created_at', 'description', 'id', 'name', 'owner', 'role', 'updated_at']);
        assert.equal(project.name, 'Apollo');
        assert.equal(project.description, 'to the moon');
        assert.equal(project.owner, ada.id);
        assert.equal(project.role, 'owner');
        assert.equal(project.created_at, new Date(project.created_at).toISOString());
        const memberships = await t.database.db('memberships').where({ project_id: project.id });
        assert.deepEqual(memberships.map((m) => [m.user_id, m.role]), [[ada.id, 'owner']]);
    });

    it('leaves no project behind when its owner membership cannot be written', async () => {
        const dave = await t.user('dave');
        const db = t.database.db;
        await db.raw(`CREATE FUNCTION refuse_membership() RETURNS trigger AS $$
            BEGIN IF NEW.user_id = ${dave.id} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`);
        await db.raw('CREATE TRIGGER refuse_membership BEFORE INSERT ON memberships FOR EACH ROW EXECUTE FUNCTION refuse_membership()');
        try {
            const res = await t.call('POST', '/api/projects/projects/', { token: dave.access, payload: { name: 'Doomed' } });
            assert.equal(res.statusCode, 500);
            assert.equal((await db('projects').where({ owner_id: dave.id })).length, 0);
        }
        finally {
            await db.raw('DROP TRIGGER refuse_membership ON memberships');
            await db.raw('DROP FUNCTION refuse_membership()');
        }
    });

    it('defaults the description to an empty string', async () => {
        const project = await create(ada, { name: 'Bare' });
        assert.equal(project.description, '');
    });

    it('names the field of an invalid project', async () => {
        const cases: Array<[unknown, string]> = [
            [{}, 'name'],
            [{ name: '' }, 'name'],
            [{ name: '   ' }, 'name'],
            [{ name: 'x'.repeat(201) }, 'name'],
            [{ name: 5 }, 'name'],
            [{ name: 'ok', description: 7 }, 'description'],
            [{ name: 'ok', owner: 3 }, 'owner']
        ];
        for (const [payload, field] of cases) {
            const res = await t.call('POST', '/api/projects/projects', { token: ada.access, payload });
            assert.equal(res.statusCode, 400, JSON.stringify(payload));
            assert.equal((res.result as { field: string }).field, field, JSON.stringify(payload));
        }
    });

    it('lists only the projects the caller is a member of, with the caller\'s role', async () => {
        const mine = await create(bob, { name: 'Bob\'s' });
        const shared = await create(ada, { name: 'Shared' });
        await join(shared.id, bob, 'viewer');
        const res = await t.call('GET', '/api/projects/projects/', { token: bob.access });
        assert.equal(res.statusCode, 200);
        const list = res.result as ProjectBody[];
        assert.deepEqual(list.map((p) => [p.id, p.role]), [[mine.id, 'owner'], [shared.id, 'viewer']]);
        assert.equal(list[1]!.owner, ada.id);
    });

    it('shows a project to members and hides it from everyone else with 404', async () => {
        const project = await create(ada);
        await join(project.id, bob, 'collaborator');
        const seen = await t.call('GET', `/api/projects/projects/${project.id}/`, { token: bob.access });
        assert.equal(seen.statusCode, 200);
        assert.equal((seen.result as ProjectBody).role, 'collaborator');

        const carol = await t.user('carol');
        const hidden = await t.call('GET', `/api/projects/projects/${project.id}/`, { token: carol.access });
        const missing = await t.call('GET', '/api/projects/projects/999999/', { token: carol.access });
        assert.equal(hidden.statusCode, 404);
        assert.deepEqual(hidden.result, missing.result, 'the same answer for hidden and missing');
        assert.equal((await t.call('GET', '/api/projects/projects/abc/', { token: carol.access })).statusCode, 400);
    });

    it('requires the name on PUT and keeps an omitted description', async () => {
        const project = await create(ada, { name: 'Old', description: 'kept' });
        const missing = await t.call('PUT', `/api/projects/projects/${project.id}/`, { token: ada.access, payload: { description: 'x' } });
        assert.equal(missing.statusCode, 400);
        assert.equal((missing.result as { field: string }).field, 'name');

        const res = await t.call('PUT', `/api/projects/projects/${project.id}/`, { token: ada.access, payload: { name: 'New' } });
        assert.equal(res.statusCode, 200);
        const updated = res.result as ProjectBody;
        assert.equal(updated.name, 'New');
        assert.equal(updated.description, 'kept');
        assert.equal(updated.created_at, project.created_at);
        assert.ok(updated.updated_at > project.updated_at, 'updated_at moves forward');
    });

    it('updates single fields with PATCH and refuses an empty PATCH', async () => {
        const project = await create(ada, { name: 'Name', description: 'before' });
        await join(project.id, bob, 'collaborator');
        const res = await t.call('PATCH', `/api/projects/projects/${project.id}`, { token: bob.access, payload: { description: 'after' } });
        assert.equal(res.statusCode, 200);
        assert.equal((res.result as ProjectBody).name, 'Name');
        assert.equal((res.result as ProjectBody).description, 'after');
        assert.equal((res.result as ProjectBody).role, 'collaborator');
        assert.equal((await t.call('PATCH', `/api/projects/projects/${project.id}`, { token: bob.access, payload: {} })).statusCode, 400);
    });

    it('refuses edits by a viewer with 403 naming the action', async () => {
        const project = await create(ada);
        await join(project.id, bob, 'viewer');
        const res = await t.call('PATCH', `/api/projects/projects/${project.id}/`, { token: bob.access, payload: { name: 'x' } });
        assert.equal(res.statusCode, 403);
        assert.equal((res.result as { message: string }).message, 'Your role (viewer) does not allow editing this project');
    });

    it('deletes a project with its memberships, workspaces and files', async () => {
        const project = await create(ada);
        await join(project.id, bob, 'viewer');
        const ws = await t.call('POST', `/api/projects/projects/${project.id}/workspaces/`, { token: ada.access, payload: { name: 'W' } });
        const workspaceId = (ws.result as { id: number }).id;
        const put = await t.call('PUT', `/api/projects/workspaces/${workspaceId}/files/a.txt`, { token: ada.access, payload: { content: 'a' } });
        assert.equal(put.statusCode, 200);

        const refused = await t.call('DELETE', `/api/projects/projects/${project.id}/`, { token: bob.access });
        assert.equal(refused.statusCode, 403);
        assert.equal((refused.result as { message: string }).message, 'Your role (viewer) does not allow deleting this project');

        const res = await t.call('DELETE', `/api/projects/projects/${project.id}/`, { token: ada.access });
        assert.equal(res.statusCode, 204);
        assert.equal(res.payload, '');
        const db = t.database.db;
        assert.equal((await db('projects').where({ id: project.id })).length, 0);
        assert.equal((await db('memberships').where({ project_id: project.id })).length, 0);
        assert.equal((await db('workspaces').where({ project_id: project.id })).length, 0);
        assert.equal((await db('files').where({ workspace_id: workspaceId })).length, 0);
        assert.equal((await t.call('GET', `/api/projects/projects/${project.id}/`, { token: ada.access })).statusCode, 404);
        assert.equal((await t.call('DELETE', `/api/projects/projects/${project.id}/`, { token: ada.access })).statusCode, 404);
    });

    it('answers with and without the trailing slash', async () => {
        const project = await create(ada);
        for (const suffix of ['', '/']) {
            const list = await t.call('GET', `/api/projects/projects${suffix}`, { token: ada.access });
            assert.equal(list.statusCode, 200, suffix);
            const one = await t.call('GET', `/api/projects/projects/${project.id}${suffix}`, { token: ada.access });
            assert.equal(one.statusCode, 200, suffix);
            const patch = await t.call('PATCH', `/api/projects/projects/${project.id}${suffix}`, { token: ada.access, payload: { name: `n${suffix}` } });
            assert.equal(patch.statusCode, 200, suffix);
            const created = await t.call('POST', `/api/projects/projects${suffix}`, { token: ada.access, payload: { name: 'slash' } });
            assert.equal(created.statusCode, 201, suffix);
        }
    });

    it('answers 401 without a token', async () => {
        assert.equal((await t.call('GET', '/api/projects/projects/')).statusCode, 401);
        assert.equal((await t.call('POST', '/api/projects/projects/', { payload: { name: 'x' } })).statusCode, 401);
    });
});
