import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { startTwoInstances, until, type RealtimeServer, type Team, type TwoInstances } from '../realtime/helpers.js';
import { metric, openEditor, type Editor } from './helpers.js';

// Documents sleep 300 ms after their last edit (at the next sweep, within about 2 s).
describe('a document nobody edits sleeps, and wakes up for the next edit', () => {
    let a: RealtimeServer;
    let b: RealtimeServer;
    let team: Team;
    let instances: TwoInstances;
    const editors: Editor[] = [];
    const open = (server: RealtimeServer, path: string, token = team.owner.access) => {
        const editor = openEditor(server.port, team.workspaceId, path, token);
        editors.push(editor);
        return editor;
    };
    const asleep = (server: RealtimeServer) => metric(server, 'docs_asleep');
    // Each test starts with no document loaded: the earlier tests' editors close, their documents unload.
    const closeEditors = async () => {
        editors.splice(0).forEach((editor) => editor.destroy());
        await until(async () => await metric(a, 'docs_loaded') === 0 && await metric(b, 'docs_loaded') === 0, 5000, 'the documents to unload');
    };
    const file = async (path: string) => (await a.http('GET', `/api/projects/workspaces/${team.workspaceId}/files/${path}`, team.owner.access)).result as { content: string; revision: number };

    before(async () => {
        instances = await startTwoInstances({ docs: { sleepAfterMs: 300, idleMs: 300 } });
        ({ a, b, team } = instances);
    });
    beforeEach(closeEditors);
    after(async () => {
        editors.forEach((editor) => editor.destroy());
        await instances.stop();
    });

    it('sleeps on both instances, then takes edits from either with nothing lost, and the file follows', async () => {
        const one = open(a, 'notes.md');
        const two = open(b, 'notes.md', team.collaborator.access);
        await Promise.all([one.synced(), two.synced()]);
        one.text.insert(0, 'first line\n');
        two.text.insert(0, 'zeroth line\n');
        await until(() => one.text.toJSON() === two.text.toJSON() && one.text.length === 23, 5000, 'the editors to converge');
        await until(async () => await asleep(a) === 1 && await asleep(b) === 1, 8000, 'the document to sleep on both instances');

        two.text.insert(two.text.length, 'woken on b\n');
        one.text.insert(0, 'woken on a\n');
        await until(() => one.text.toJSON() === two.text.toJSON() && one.text.length === 45, 5000, 'the edits after the sleep');
        assert.equal(await asleep(a), 0, 'an edit wakes the document up');
        await until(async () => (await file('notes.md')).content === one.text.toJSON(), 5000, 'the file to follow');
    });

    it('answers a new editor, its cursor and another instance from the sleeping state without waking it', async () => {
        const one = open(a, 'quiet.md');
        await one.synced();
        one.text.insert(0, 'x'.repeat(5000));
        await until(async () => (await file('quiet.md'))?.content?.length === 5000, 5000, 'the file');
        await until(async () => await asleep(a) === 1, 8000, 'the document to sleep');

        const two = open(a, 'quiet.md', team.viewer.access);
        await two.synced();
        assert.equal(two.text.toJSON(), one.text.toJSON());
        two.provider.awareness.setLocalStateField('user', { name: 'Viewer' });
        await until(() => [...one.provider.awareness.getStates().values()].some((state) => (state.user as { name?: string } | undefined)?.name === 'Viewer'), 5000, 'the viewer\'s cursor');

        // b loads the document from the database and asks a (asleep) for what it lacks.
        const three = open(b, 'quiet.md', team.collaborator.access);
        await three.synced();
        assert.equal(three.text.toJSON(), one.text.toJSON());
        assert.equal(await asleep(a), 1, 'syncs, awareness and another instance\'s catch-up leave it asleep');

        three.text.insert(0, 'awake ');
        await until(() => one.text.toJSON().startsWith('awake x') && two.text.toJSON() === one.text.toJSON(), 5000, 'the edit everywhere');
    });

    it('applies a REST write to a sleeping document as an edit every editor sees', async () => {
        const one = open(a, 'rest.md');
        const two = open(b, 'rest.md');
        await Promise.all([one.synced(), two.synced()]);
        one.text.insert(0, 'hello world');
        await until(() => two.text.toJSON() === 'hello world', 5000, 'the edit on b');
        await until(async () => await asleep(a) === 1 && await asleep(b) === 1, 8000, 'the documents to sleep');
        const before = await file('rest.md');

        const put = await b.http('PUT', `/api/projects/workspaces/${team.workspaceId}/files/rest.md`, team.owner.access, { content: 'hello brave world' });
        assert.equal(put.statusCode, 200);
        await until(() => one.text.toJSON() === 'hello brave world' && two.text.toJSON() === 'hello brave world', 5000, 'the write in both editors');
        assert.ok((await file('rest.md')).revision > before.revision);
    });
});
