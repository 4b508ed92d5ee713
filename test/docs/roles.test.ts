import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import Jwt from '@hapi/jwt';

import { sleep, startTwoInstances, until, type RealtimeServer, type Team, type TwoInstances, type User } from '../realtime/helpers.js';
import { openEditor, type Editor } from './helpers.js';

describe('roles on document sockets, live, across two instances', () => {
    let a: RealtimeServer;
    let b: RealtimeServer;
    let team: Team;
    let instances: TwoInstances;
    const editors: Editor[] = [];
    const open = (server: RealtimeServer, path: string, token: string) => {
        const editor = openEditor(server.port, team.workspaceId, path, token);
        editors.push(editor);
        return editor;
    };

    const token = (user: User, ttlSec: number) => Jwt.token.generate({ sub: String(user.id), email: user.email, typ: 'access' }, { key: a.config.jwtSecret, algorithm: 'HS256' }, { ttlSec });

    before(async () => {
        instances = await startTwoInstances();
        ({ a, b, team } = instances);
    });
    after(async () => {
        editors.forEach((editor) => editor.destroy());
        await instances.stop();
    });

    it('lets a viewer read, answers its update with "permission denied", and shows it to nobody', async () => {
        const owner = open(a, 'viewer.txt', team.owner.access);
        const viewer = open(b, 'viewer.txt', team.viewer.access);
        const other = open(b, 'viewer.txt', team.collaborator.access);
        await Promise.all([owner.synced(), viewer.synced(), other.synced()]);
        owner.text.insert(0, 'shared');
        await until(() => viewer.text.toJSON() === 'shared' && other.text.toJSON() === 'shared', 5000, 'the viewer and the collaborator to read');

        viewer.text.insert(0, 'VIEWER ');
        await until(() => viewer.denied.length > 0, 5000, 'permission denied');
        assert.match(viewer.denied[0]!, /^permission denied/);
        // Something sent after the refused update still arrives, and the refused one never did.
        owner.text.insert(owner.text.length, '!');
        await until(() => other.text.toJSON() === 'shared!', 5000, 'the later edit');
        assert.equal(owner.text.toJSON(), 'shared!');
        await until(async () => ((await a.http('GET', `/api/projects/workspaces/${team.workspaceId}/files/viewer.txt`, team.owner.access)).result as { content?: string }).content === 'shared!', 5000, 'the file without the viewer\'s text');
        assert.equal(viewer.closes.length, 0);
    });

    it('refuses a collaborator\'s updates within a second of being lowered to viewer on another instance', async () => {
        const collaborator = open(b, 'demote.txt', team.collaborator.access);
        const owner = open(a, 'demote.txt', team.owner.access);
        await Promise.all([collaborator.synced(), owner.synced()]);
        collaborator.text.insert(0, 'before ');
        await until(() => owner.text.toJSON() === 'before ', 5000, 'the edit before demotion');

        const patched = await a.http('PATCH', `/api/projects/projects/${team.projectId}/members/${team.collaborator.id}`, team.owner.access, { role: 'viewer' });
        assert.equal(patched.statusCode, 200);
        await sleep(1000);
        collaborator.text.insert(collaborator.text.length, 'after');
        await until(() => collaborator.denied.length > 0, 5000, 'permission denied after demotion');
        owner.text.insert(0, '>');
        await until(() => collaborator.text.toJSON().startsWith('>'), 5000, 'the owner\'s later edit');
        assert.equal(owner.text.toJSON(), '>before ');

        await a.http('PATCH', `/api/projects/projects/${team.projectId}/members/${team.collaborator.id}`, team.owner.access, { role: 'collaborator' });
    });

    it('closes the socket with 4403 on every instance when the member is removed', async () => {
        const [guest] = await Promise.all([a.user('guest')]);
        await a.http('POST', `/api/projects/projects/${team.projectId}/members/`, team.owner.access, { user_id: guest.id, role: 'collaborator' });
        const onB = open(b, 'removal.txt', guest.access);
        const onA = open(a, 'removal.txt', guest.access);
        await Promise.all([onA.synced(), onB.synced()]);
        const removed = await a.http('DELETE', `/api/projects/projects/${team.projectId}/members/${guest.id}`, team.owner.access);
        assert.equal(removed.statusCode, 204);
        await until(() => onA.closes.includes(4403) && onB.closes.includes(4403), 5000, '4403 on both instances');
        // y-websocket treats 44xx as final: it does not reconnect.
        assert.equal(onA.provider.shouldConnect, false);
    });

    it('closes with 4401 when the token expires, and the provider resumes with a new token', async () => {
        const short = token(team.collaborator, 2);
        const editor = open(b, 'expiry.txt', short);
        await editor.synced();
        editor.text.insert(0, 'one ');
        await until(() => editor.closes.includes(4401), 6000, '4401 at expiry');
        editor.provider.params = { token: team.collaborator.access };
        editor.provider.connect();
        await editor.synced();
        editor.text.insert(editor.text.length, 'two');
        const reader = open(a, 'expiry.txt', team.owner.access);
        await until(() => reader.text.toJSON() === 'one two', 5000, 'both edits, before and after the new token');
    });
});
