import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import Jwt from '@hapi/jwt';
import { AuthenticationError, CollabClient, DOC_TEXT_NAME, NotFoundError, PermissionError, ValidationError, type DocumentStatus, type SharedDocument } from '@collab/sdk';
import { DOC_DENIED_VIEWER } from '@collab/protocol';

import { makeTeam, startServer, until, type RealtimeServer, type Team, type User } from '../realtime/helpers.js';

/** `client.docs.open()` against a real server, on Node 20 with no WebSocket option (the SDK loads `ws`). */
describe('client.docs.open()', () => {
    let t: RealtimeServer;
    let team: Team;
    const opened: SharedDocument[] = [];

    const clientOf = (user: Pick<User, 'access'> & Partial<User>) => new CollabClient({ baseUrl: `http://127.0.0.1:${t.port}`, token: user.access, refreshToken: user.refresh });
    const open = (user: Pick<User, 'access'> & Partial<User>, path: string, statuses: DocumentStatus[] = [], client = clientOf(user)) => {
        const shared = client.docs.open(team.workspaceId, path, { onStatus: (status) => statuses.push(status) });
        opened.push(shared);
        return shared;
    };
    const shortToken = (user: User, ttlSec: number) => Jwt.token.generate({ sub: String(user.id), email: user.email, typ: 'access' }, { key: t.config.jwtSecret, algorithm: 'HS256' }, { ttlSec });
    const fileContent = async (path: string) => {
        const res = await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/files/${path.split('/').map(encodeURIComponent).join('/')}`, team.owner.access);
        return res.statusCode === 200 ? (res.result as { content: string; revision: number }) : undefined;
    };

    before(async () => {
        t = await startServer();
        team = await makeTeam(t);
    });
    after(async () => {
        opened.forEach((shared) => shared.close());
        await t.stop();
    });

    it('starts from the file\'s content and merges two editors\' typing into one text, with each other\'s cursors', async () => {
        const put = await t.http('PUT', `/api/projects/workspaces/${team.workspaceId}/files/notes/shared.md`, team.owner.access, { content: 'hello' });
        assert.equal(put.statusCode, 200);
        const ada = open(team.owner, 'notes/shared.md');
        const grace = open(team.collaborator, 'notes/shared.md');
        await Promise.all([ada.synced, grace.synced]);
        assert.equal(ada.text, ada.doc.getText(DOC_TEXT_NAME));
        assert.equal(ada.text.toJSON(), 'hello');
        assert.ok(ada.connected);

        ada.awareness.setLocalStateField('user', { name: 'Ada' });
        grace.awareness.setLocalStateField('user', { name: 'Grace' });
        ada.text.insert(0, '> ');
        grace.text.insert(5, ', world');
        await until(() => ada.text.toJSON() === grace.text.toJSON() && ada.text.length === 14, 5000, 'both edits on both sides', () => `${ada.text.toJSON()} | ${grace.text.toJSON()}`);
        assert.equal(ada.text.toJSON(), '> hello, world');
        await until(() => [...ada.awareness.getStates().values()].some((s) => (s.user as { name?: string } | undefined)?.name === 'Grace'), 5000, 'Grace\'s cursor at Ada\'s');

        grace.close();
        await until(() => ![...ada.awareness.getStates().values()].some((s) => (s.user as { name?: string } | undefined)?.name === 'Grace'), 5000, 'Grace gone from Ada\'s editors');
        await until(async () => (await fileContent('notes/shared.md'))?.content === '> hello, world', 5000, 'the REST view to follow');
    });

    it('keeps twelve documents open in one process without a MaxListenersExceededWarning, and gives the room back once they close', async () => {
        const warnings: Error[] = [];
        const onWarning = (warning: Error) => warnings.push(warning);
        process.on('warning', onWarning);
        const before = process.getMaxListeners();
        try {
            const client = clientOf(team.owner);
            const many = Array.from({ length: 12 }, (_, i) => open(team.owner, `many/doc-${i}.txt`, [], client));
            await Promise.all(many.map((shared) => shared.synced));
            assert.equal(process.getMaxListeners(), before + 12);
            many.forEach((shared) => shared.close());
            many.forEach((shared) => shared.close());
            assert.equal(process.getMaxListeners(), before);
            await new Promise((resolve) => setImmediate(resolve));
        }
        finally {
            process.off('warning', onWarning);
        }

        assert.deepEqual(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning').map((warning) => warning.message), []);
    });

    it('encodes each path segment, so a path with spaces and non-ASCII letters reaches its file', async () => {
        const path = 'docs/my notes/ünïcode #1.md';
        const shared = open(team.owner, path);
        await shared.synced;
        shared.text.insert(0, 'encoded');
        await until(async () => (await fileContent(path))?.content === 'encoded', 5000, 'the file at its decoded path');
    });

    it('refreshes the token when the server closes with 4401 at expiry, and carries on where it was', async () => {
        const statuses: DocumentStatus[] = [];
        const client = clientOf({ access: shortToken(team.collaborator, 3), refresh: team.collaborator.refresh });
        const first = client.tokens.access;
        const shared = open({ access: first! }, 'expiry.txt', statuses, client);
        await shared.synced;
        shared.text.insert(0, 'one ');
        await until(() => statuses.some((s) => s.state === 'disconnected' && s.code === 4401), 8000, '4401 at expiry');
        await until(() => statuses.filter((s) => s.state === 'synced').length === 2, 5000, 'the second sync', () => JSON.stringify(statuses));
        assert.notEqual(client.tokens.access, first);
        shared.text.insert(shared.text.length, 'two');
        const reader = open(team.owner, 'expiry.txt');
        await reader.synced;
        await until(() => reader.text.toJSON() === 'one two', 5000, 'both edits, before and after the new token');
        assert.ok(!statuses.some((s) => s.state === 'ended'));
    });

    it('refreshes once for all of a client\'s documents that expire together, and all carry on', async () => {
        const user = await t.user('three-tabs');
        await t.http('POST', `/api/projects/projects/${team.projectId}/members/`, team.owner.access, { user_id: user.id, role: 'collaborator' });
        let refreshes = 0;
        const client = new CollabClient({ baseUrl: `http://127.0.0.1:${t.port}`, token: shortToken(user, 3), refreshToken: user.refresh, onTokens: () => void ++refreshes });
        const statuses: DocumentStatus[][] = [[], [], []];
        const docs = statuses.map((list, n) => open({ access: '' }, `together-${n}.txt`, list, client));
        await Promise.all(docs.map((shared) => shared.synced));
        const refreshBefore = client.tokens.refresh;
        await until(() => statuses.every((list) => list.filter((s) => s.state === 'synced').length === 2), 10_000, 'every document synced again', () => JSON.stringify(statuses));
        assert.ok(statuses.every((list) => list.some((s) => s.state === 'disconnected' && s.code === 4401) && !list.some((s) => s.state === 'ended')));
        assert.notEqual(client.tokens.refresh, refreshBefore);
        assert.equal(refreshes, 1);
        const me = await client.auth.me();                   // the session lives: one rotation, no reuse of a rotated refresh token
        assert.equal(me.email, user.email);
    });

    it('ends with an AuthenticationError when the token expires and the session is dead', async () => {
        const user = await t.user('leaver');
        await t.http('POST', `/api/projects/projects/${team.projectId}/members/`, team.owner.access, { user_id: user.id, role: 'collaborator' });
        const statuses: DocumentStatus[] = [];
        const shared = open({ access: shortToken(user, 3), refresh: user.refresh }, 'dead.txt', statuses);
        await shared.synced;
        assert.equal((await t.http('POST', '/api/auth/logout/', undefined, { refresh: user.refresh })).statusCode, 204);
        await until(() => statuses.some((s) => s.state === 'ended'), 10_000, 'the end', () => JSON.stringify(statuses));
        const ended = statuses.find((s) => s.state === 'ended')!;
        assert.ok(ended.state === 'ended' && ended.error instanceof AuthenticationError);
        assert.equal(ended.error.code, 'session_expired');
        assert.doesNotMatch(ended.error.message, new RegExp(user.refresh));
    });

    it('rejects synced with an AuthenticationError for a bad token and no refresh token', async () => {
        const shared = open({ access: 'not-a-jwt' }, 'bad-token.txt');
        await assert.rejects(shared.synced, (err: unknown) => err instanceof AuthenticationError && err.status === 401);
    });

    it('rejects synced with a PermissionError for an outsider (4403), as for a workspace that does not exist', async () => {
        const statuses: DocumentStatus[] = [];
        const outsider = open(team.outsider, 'private.txt', statuses);
        await assert.rejects(outsider.synced, (err: unknown) => err instanceof PermissionError && err.status === 403);
        assert.deepEqual(statuses.map((s) => s.state), ['ended']);
        const missing = clientOf(team.owner).docs.open(999_999, 'x.txt');
        opened.push(missing);
        await assert.rejects(missing.synced, PermissionError);
    });

    it('rejects synced with a ValidationError for a path the server refuses (4400)', async () => {
        const shared = open(team.owner, `${'x'.repeat(300)}.txt`);
        await assert.rejects(shared.synced, (err: unknown) => err instanceof ValidationError && err.status === 400);
    });

    it('ends with a PermissionError when the member is removed, and reports a viewer\'s refused edits as denied', async () => {
        const guest = await t.user('guest');
        await t.http('POST', `/api/projects/projects/${team.projectId}/members/`, team.owner.access, { user_id: guest.id, role: 'viewer' });
        const statuses: DocumentStatus[] = [];
        const shared = open(guest, 'removal.txt', statuses);
        await shared.synced;
        shared.text.insert(0, 'viewer text');
        await until(() => statuses.some((s) => s.state === 'denied'), 5000, 'permission denied');
        assert.deepEqual(statuses.find((s) => s.state === 'denied'), { state: 'denied', reason: DOC_DENIED_VIEWER });

        assert.equal((await t.http('DELETE', `/api/projects/projects/${team.projectId}/members/${guest.id}`, team.owner.access)).statusCode, 204);
        await until(() => statuses.some((s) => s.state === 'ended'), 5000, 'the end');
        const ended = statuses.find((s) => s.state === 'ended')!;
        assert.ok(ended.state === 'ended' && ended.error instanceof PermissionError);
        assert.ok(!shared.connected);
    });

    it('ends with a NotFoundError (file_deleted) when the file is deleted', async () => {
        await t.http('PUT', `/api/projects/workspaces/${team.workspaceId}/files/deleted.txt`, team.owner.access, { content: 'soon gone' });
        const statuses: DocumentStatus[] = [];
        const shared = open(team.collaborator, 'deleted.txt', statuses);
        await shared.synced;
        assert.equal((await t.http('DELETE', `/api/projects/workspaces/${team.workspaceId}/files/deleted.txt`, team.owner.access)).statusCode, 204);
        await until(() => statuses.some((s) => s.state === 'ended'), 5000, 'the end');
        const ended = statuses.find((s) => s.state === 'ended')!;
        assert.ok(ended.state === 'ended' && ended.error instanceof NotFoundError);
        assert.equal(ended.error.code, 'file_deleted');
    });

    it('keeps trying after 4429 (too many sockets of the user), a code to reconnect after, and syncs once a place is free', async () => {
        const small = await startServer({ realtime: { maxPerUser: 1 } });
        try {
            const smallTeam = await makeTeam(small);
            const client = new CollabClient({ baseUrl: `http://127.0.0.1:${small.port}`, token: smallTeam.owner.access });
            const first = client.docs.open(smallTeam.workspaceId, 'one.txt');
            opened.push(first);
            await first.synced;
            const statuses: DocumentStatus[] = [];
            const second = client.docs.open(smallTeam.workspaceId, 'two.txt', { onStatus: (status) => statuses.push(status) });
            opened.push(second);
            await until(() => statuses.some((s) => s.state === 'disconnected' && s.code === 4429), 5000, '4429');
            first.close();
            await second.synced;
            assert.ok(!statuses.some((s) => s.state === 'ended'));
            second.close();
        }
        finally {
            await small.stop();
        }
    });

    it('rejects a bad workspace id, an empty path or dot segments at once, and rejects synced when closed before syncing', async () => {
        const client = clientOf(team.owner);
        assert.throws(() => client.docs.open(0, 'a.txt'), TypeError);
        assert.throws(() => client.docs.open(1.5, 'a.txt'), TypeError);
        assert.throws(() => client.docs.open(team.workspaceId, ''), TypeError);
        assert.throws(() => client.docs.open(team.workspaceId, 'a/../b.txt'), /must not hold \. or \.\. segments/);
        const shared = client.docs.open(team.workspaceId, 'closed.txt');
        shared.close();
        await assert.rejects(shared.synced, (err: unknown) => err instanceof Error && /closed before it synced/.test(err.message));
    });
});
