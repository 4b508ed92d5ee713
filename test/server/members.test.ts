import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { nextPath } from '../helpers/link.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

interface MemberBody {
    user: { id: number; email: string; name: string };
    role: string;
    added_at: string;
}

describe('members', () => {
    let t: TestServer;
    let owner: TestUser;
    let bob: TestUser;
    let carol: TestUser;
    before(async () => {
        t = await startTestServer();
        [owner, bob, carol] = await Promise.all([t.user('owner'), t.user('bob'), t.user('carol')]);
    });
    after(() => t.stop());

    const project = async () => {
        const res = await t.call('POST', '/api/projects/projects/', { token: owner.access, payload: { name: 'Team' } });
        return (res.result as { id: number }).id;
    };

    const add = (projectId: number, payload: object, token = owner.access) =>
        t.call('POST', `/api/projects/projects/${projectId}/members/`, { token, payload });

    const owners = async (projectId: number) =>
        (await t.database.db('memberships').where({ project_id: projectId, role: 'owner' })).map((m) => m.user_id as number);

    it('lists members with their public user fields, role and added_at', async () => {
        const id = await project();
        assert.equal((await add(id, { user_id: bob.id, role: 'viewer' })).statusCode, 201);
        const res = await t.call('GET', `/api/projects/projects/${id}/members/`, { token: bob.access });
        assert.equal(res.statusCode, 200);
        const list = res.result as MemberBody[];
        const expected = [[owner.id, 'owner'], [bob.id, 'viewer']].sort((a, b) => Number(a[0]) - Number(b[0]));
        assert.deepEqual(list.map((m) => [m.user.id, m.role]), expected, 'ordered by user id');
        assert.deepEqual(Object.keys(list[0]!).sort(), ['added_at', 'role', 'user']);
        assert.deepEqual(list.find((m) => m.user.id === bob.id)!.user, { id: bob.id, email: bob.email, name: 'bob' });
        assert.equal(list[0]!.added_at, new Date(list[0]!.added_at).toISOString());
    });

    it('adds a member by email, case-insensitively, or by user_id', async () => {
        const id = await project();
        const byEmail = await add(id, { email: ` ${bob.email.toUpperCase()} `, role: 'collaborator' });
        assert.equal(byEmail.statusCode, 201);
        assert.deepEqual((byEmail.result as MemberBody).user, { id: bob.id, email: bob.email, name: 'bob' });
        assert.equal((byEmail.result as MemberBody).role, 'collaborator');
        const byId = await add(id, { user_id: carol.id, role: 'viewer' });
        assert.equal(byId.statusCode, 201);
        assert.equal((byId.result as MemberBody).user.id, carol.id);
    });

    it('requires exactly one of email and user_id, and a valid role', async () => {
        const id = await project();
        const cases: Array<[object, RegExp]> = [
            [{ role: 'viewer' }, /email or user_id/],
            [{ email: bob.email, user_id: bob.id, role: 'viewer' }, /either email or user_id/],
            [{ email: bob.email }, /role/],
            [{ email: bob.email, role: 'admin' }, /role/],
            [{ email: 'not-an-email', role: 'viewer' }, /email/],
            [{ user_id: 'x', role: 'viewer' }, /user_id/]
        ];
        for (const [payload, message] of cases) {
            const res = await add(id, payload);
            assert.equal(res.statusCode, 400, JSON.stringify(payload));
            assert.match((res.result as { message: string }).message, message);
        }
    });

    it('answers 404 User not found for an unknown user and 409 for an existing member', async () => {
        const id = await project();
        const unknownEmail = await add(id, { email: 'nobody@example.com', role: 'viewer' });
        assert.equal(unknownEmail.statusCode, 404);
        assert.equal((unknownEmail.result as { message: string }).message, 'User not found');
        assert.equal((await add(id, { user_id: 999999, role: 'viewer' })).statusCode, 404);
        assert.equal((await add(id, { user_id: bob.id, role: 'viewer' })).statusCode, 201);
        const again = await add(id, { email: bob.email, role: 'collaborator' });
        assert.equal(again.statusCode, 409);
        assert.equal((await add(id, { user_id: owner.id, role: 'viewer' })).statusCode, 409);
    });

    it('lets only owners add members', async () => {
        const id = await project();
        await add(id, { user_id: bob.id, role: 'collaborator' });
        const res = await add(id, { user_id: carol.id, role: 'viewer' }, bob.access);
        assert.equal(res.statusCode, 403);
        assert.equal((res.result as { message: string }).message, 'Your role (collaborator) does not allow adding members');
        assert.equal((await add(id, { user_id: carol.id, role: 'viewer' }, carol.access)).statusCode, 404);
    });

    it('changes a role, which takes effect on the next request', async () => {
        const id = await project();
        await add(id, { user_id: bob.id, role: 'collaborator' });
        assert.equal((await t.call('PATCH', `/api/projects/projects/${id}/`, { token: bob.access, payload: { name: 'by bob' } })).statusCode, 200);
        const res = await t.call('PATCH', `/api/projects/projects/${id}/members/${bob.id}/`, { token: owner.access, payload: { role: 'viewer' } });
        assert.equal(res.statusCode, 200);
        assert.equal((res.result as MemberBody).role, 'viewer');
        assert.equal((res.result as MemberBody).user.id, bob.id);
        assert.equal((await t.call('PATCH', `/api/projects/projects/${id}/`, { token: bob.access, payload: { name: 'x' } })).statusCode, 403);
        const unknown = await t.call('PATCH', `/api/projects/projects/${id}/members/${carol.id}`, { token: owner.access, payload: { role: 'viewer' } });
        assert.equal(unknown.statusCode, 404);
        assert.equal((unknown.result as { message: string }).message, 'Member not found');
    });

    it('removes a member by the owner, and lets a member leave', async () => {
        const id = await project();
        await add(id, { user_id: bob.id, role: 'viewer' });
        await add(id, { user_id: carol.id, role: 'viewer' });
        const refused = await t.call('DELETE', `/api/projects/projects/${id}/members/${carol.id}/`, { token: bob.access });
        assert.equal(refused.statusCode, 403);
        assert.equal((refused.result as { message: string }).message, 'Your role (viewer) does not allow removing other members');

        assert.equal((await t.call('DELETE', `/api/projects/projects/${id}/members/${bob.id}/`, { token: bob.access })).statusCode, 204);
        assert.equal((await t.call('GET', `/api/projects/projects/${id}/`, { token: bob.access })).statusCode, 404);
        assert.equal((await t.call('DELETE', `/api/projects/projects/${id}/members/${carol.id}`, { token: owner.access })).statusCode, 204);
        assert.equal((await t.call('DELETE', `/api/projects/projects/${id}/members/${carol.id}`, { token: owner.access })).statusCode, 404);
        assert.deepEqual((await t.database.db('memberships').where({ project_id: id })).map((m) => m.user_id), [owner.id]);
    });

    it('neither demotes nor removes the last owner (409)', async () => {
        const id = await project();
        const demote = await t.call('PATCH', `/api/projects/projects/${id}/members/${owner.id}/`, { token: owner.access, payload: { role: 'collaborator' } });
        assert.equal(demote.statusCode, 409);
        assert.match((demote.result as { message: string }).message, /at least one owner/);
        assert.equal((await t.call('DELETE', `/api/projects/projects/${id}/members/${owner.id}/`, { token: owner.access })).statusCode, 409);
        assert.equal((await t.call('PATCH', `/api/projects/projects/${id}/members/${owner.id}/`, { token: owner.access, payload: { role: 'owner' } })).statusCode, 200);
        assert.deepEqual(await owners(id), [owner.id]);

        await add(id, { user_id: bob.id, role: 'owner' });
        assert.equal((await t.call('PATCH', `/api/projects/projects/${id}/members/${owner.id}/`, { token: owner.access, payload: { role: 'viewer' } })).statusCode, 200);
        assert.equal((await t.call('DELETE', `/api/projects/projects/${id}/members/${bob.id}/`, { token: bob.access })).statusCode, 409);
        assert.deepEqual(await owners(id), [bob.id]);
    });

    it('lets only one of two owners demoting themselves at once succeed', async () => {
        for (let round = 0; round < 3; round++) {
            const id = await project();
            await add(id, { user_id: bob.id, role: 'owner' });
            const [a, b] = await Promise.all([
                t.call('PATCH', `/api/projects/projects/${id}/members/${owner.id}/`, { token: owner.access, payload: { role: 'viewer' } }),
                t.call('PATCH', `/api/projects/projects/${id}/members/${bob.id}/`, { token: bob.access, payload: { role: 'viewer' } })
            ]);
            assert.deepEqual([a.statusCode, b.statusCode].sort(), [200, 409]);
            assert.equal((await owners(id)).length, 1);
        }
    });

    it('lets only one of two owners removing each other at once succeed', async () => {
        for (let round = 0; round < 3; round++) {
            const id = await project();
            await add(id, { user_id: bob.id, role: 'owner' });
            const [a, b] = await Promise.all([
                t.call('DELETE', `/api/projects/projects/${id}/members/${bob.id}/`, { token: owner.access }),
                t.call('DELETE', `/api/projects/projects/${id}/members/${owner.id}/`, { token: bob.access })
            ]);
            const codes = [a.statusCode, b.statusCode].sort();
            assert.equal(codes[0], 204);
            assert.ok([403, 404].includes(codes[1]!), `the loser is no longer an owner: ${codes[1]}`);
            assert.equal((await owners(id)).length, 1);
        }
    });

    it('pages through members by user id', async () => {
        const id = await project();
        const others = [bob, carol, await t.user('dan'), await t.user('eve')];
        await t.database.db('memberships').insert(others.map((u) => ({ project_id: id, user_id: u.id, role: 'viewer' })));
        const seen: number[] = [];
        let url: string | undefined = `/api/projects/projects/${id}/members/?limit=2`;
        while (url) {
            const res = await t.call('GET', url, { token: owner.access });
            assert.equal(res.statusCode, 200);
            seen.push(...(res.result as MemberBody[]).map((m) => m.user.id));
            url = nextPath(res.headers.link);
        }

        assert.deepEqual(seen, [owner.id, ...others.map((u) => u.id)].sort((x, y) => x - y));
    });
});
