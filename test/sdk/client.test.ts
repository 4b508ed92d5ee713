import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { CollabClient, ConflictError, NotFoundError, type TokenPair } from '@collab/sdk';

import { startTestServer, type TestServer } from '../helpers/server.js';

describe('CollabClient against a real server', () => {
    let t: TestServer;
    let baseUrl: string;
    const signedIn = async () => {
        const user = await t.user();
        return { user, client: new CollabClient({ baseUrl, token: user.access, refreshToken: user.refresh }) };
    };

    before(async () => {
        t = await startTestServer({ listen: true });
        baseUrl = t.server.info.uri;
    });
    after(() => t.stop());

    it('registers, logs in keeping the tokens, shows me, refreshes and logs out', async () => {
        const seen: TokenPair[] = [];
        const client = new CollabClient({ baseUrl: `${baseUrl}/`, onTokens: (tokens) => void seen.push(tokens) });
        const email = `sdk-${randomUUID().slice(0, 8)}@example.com`;
        const user = await client.auth.register({ email, password: 'correct horse battery', name: 'Ada' });
        assert.equal(user.email, email);
        assert.equal(client.tokens.access, undefined);

        const tokens = await client.auth.login({ email, password: 'correct horse battery' });
        assert.deepEqual(client.tokens, tokens);
        assert.deepEqual(seen, [tokens]);
        assert.deepEqual(await client.auth.me(), user);

        const rotated = await client.auth.refresh();
        assert.notEqual(rotated.refresh, tokens.refresh);
        assert.deepEqual(client.tokens, rotated);
        assert.equal(seen.length, 2);

        await client.auth.logout();
        assert.deepEqual(client.tokens, { access: undefined, refresh: undefined });
        await assert.rejects(client.auth.refresh(rotated.refresh), { name: 'AuthenticationError', status: 401 });
    });

    it('creates, lists, gets, updates, replaces and deletes projects', async () => {
        const { user, client } = await signedIn();
        const created = await client.projects.create({ name: 'Compiler', description: 'week 3' });
        assert.equal(created.owner, user.id);
        assert.equal(created.role, 'owner');

        const first = await client.projects.list();
        assert.deepEqual(first.data.map((p) => p.id), [created.id]);
        assert.equal(first.hasMore, false);
        assert.equal(first.nextCursor, null);
        assert.deepEqual(await client.projects.get(created.id), created);

        const patched = await client.projects.update(created.id, { description: 'week 4' });
        assert.equal(patched.name, 'Compiler');
        assert.equal(patched.description, 'week 4');
        const replaced = await client.projects.replace(created.id, { name: 'Compilers' });
        assert.equal(replaced.name, 'Compilers');

        await client.projects.delete(created.id);
        await assert.rejects(client.projects.get(created.id), NotFoundError);
    });

    it('adds members by email and by id, lists them, changes a role and removes them', async () => {
        const { client } = await signedIn();
        const grace = await t.user('grace');
        const linus = await t.user('linus');
        const project = await client.projects.create({ name: 'Team' });

        const added = await client.members.add(project.id, { email: grace.email, role: 'viewer' });
        assert.deepEqual({ id: added.user.id, role: added.role }, { id: grace.id, role: 'viewer' });
        await client.members.add(project.id, { user_id: linus.id, role: 'collaborator' });
        await assert.rejects(client.members.add(project.id, { user_id: linus.id, role: 'viewer' }), ConflictError);

        const members = await client.members.list(project.id).toArray();
        assert.deepEqual(members.map((m) => m.role).sort(), ['collaborator', 'owner', 'viewer']);

        const promoted = await client.members.setRole(project.id, grace.id, 'collaborator');
        assert.equal(promoted.role, 'collaborator');
        await client.members.remove(project.id, linus.id);
        assert.equal((await client.members.list(project.id)).data.length, 2);
    });

    it('creates, lists, gets, updates and deletes workspaces', async () => {
        const { client } = await signedIn();
        const project = await client.projects.create({ name: 'Spaces' });
        const ws = await client.workspaces.create(project.id, { name: 'Lexer', description: 'tokens' });
        assert.equal(ws.project, project.id);

        const listed = [];
        for await (const w of client.workspaces.list(project.id)) {
            listed.push(w.id);
        }

        assert.deepEqual(listed, [ws.id]);
        assert.equal((await client.workspaces.get(ws.id)).name, 'Lexer');
        assert.equal((await client.workspaces.update(ws.id, { name: 'Parser' })).name, 'Parser');
        await client.workspaces.delete(ws.id);
        await assert.rejects(client.workspaces.get(ws.id), { name: 'NotFoundError', status: 404, code: 'not_found' });
    });

    it('writes, reads, lists and deletes files, encoding each path segment', async () => {
        const { client } = await signedIn();
        const project = await client.projects.create({ name: 'Files' });
        const ws = await client.workspaces.create(project.id, { name: 'src' });
        const path = 'src/dir with space/a#b?c%d é.txt';

        const written = await client.files.put(ws.id, path, { content: 'hello' });
        assert.deepEqual(written, { path, revision: 1 });
        const file = await client.files.get(ws.id, path);
        assert.equal(file.content, 'hello');
        assert.equal(file.path, path);

        assert.deepEqual(await client.files.put(ws.id, path, { content: 'again', base_revision: 1 }), { path, revision: 2 });
        const stale = await client.files.put(ws.id, path, { content: 'late', base_revision: 1 }).catch((err: unknown) => err);
        assert.ok(stale instanceof ConflictError);
        assert.equal(stale.status, 409);

        await client.files.put(ws.id, 'top.md', { content: '# top' });
        const files = await client.files.list(ws.id).toArray();
        assert.deepEqual(files.map((f) => [f.path, f.revision]), [[path, 2], ['top.md', 1]]);

        await client.files.delete(ws.id, path);
        await assert.rejects(client.files.get(ws.id, path), NotFoundError);
    });

    it('refuses a file path with . or .. segments before sending it, so it cannot reach another route', async () => {
        const { client } = await signedIn();
        const project = await client.projects.create({ name: 'Kept' });
        const ws = await client.workspaces.create(project.id, { name: 'src' });
        const escapes = [`../../projects/${project.id}/`, `a/../../../projects/${project.id}`, './a.txt', 'a/.', '..'];
        for (const path of escapes) {
            await assert.rejects(client.files.delete(ws.id, path), { name: 'TypeError', message: /path .*\. or \.\. segments/ }, path);
            await assert.rejects(client.files.put(ws.id, path, { content: 'x' }), TypeError, path);
        }

        assert.equal((await client.projects.get(project.id)).name, 'Kept');
        assert.deepEqual((await client.files.list(ws.id).toArray()).map((f) => f.path), []);
        await assert.rejects(client.projects.get('..' as unknown as number), TypeError);
    });
});
