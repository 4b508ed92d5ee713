import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as Y from 'yjs';

import { testConfig } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cleanRedis } from '../helpers/server.js';
import { makeTeam, plainClient, sleep, startServer, until, type PlainClient, type RealtimeServer, type Team } from '../realtime/helpers.js';
import { openEditor, type Editor } from './helpers.js';

describe('one file, two views: a document and its REST file', () => {
    let database: TestDatabase;
    let a: RealtimeServer;
    let b: RealtimeServer;
    let team: Team;
    let feed: PlainClient;
    const editors: Editor[] = [];
    const open = (server: RealtimeServer, path: string) => {
        const editor = openEditor(server.port, team.workspaceId, path, team.owner.access);
        editors.push(editor);
        return editor;
    };

    const file = async (path: string) => (await a.http('GET', `/api/projects/workspaces/${team.workspaceId}/files/${path}`, team.owner.access)).result as { content: string; revision: number };
    const changes = (path: string) => feed.events().filter((event) => event.event === 'file_change' && event.payload.file === path);

    before(async () => {
        database = await createTestDatabase();
        const config = testConfig();
        [a, b] = await Promise.all([startServer({ config, database }), startServer({ config, database })]);
        team = await makeTeam(a);
        feed = plainClient(a.port, team.workspaceId, team.viewer.access);
        await feed.opened;
    });
    after(async () => {
        feed.ws.terminate();
        editors.forEach((editor) => editor.destroy());
        await Promise.all([a.stop(), b.stop()]);
        await cleanRedis(a.config.redisPrefix);
        await database.drop();
    });

    it('writes the text to the file within 2 s of the last edit: revision + 1 and one file_change', async () => {
        await a.http('PUT', `/api/projects/workspaces/${team.workspaceId}/files/notes.md`, team.owner.access, { content: 'start' });
        const before = await file('notes.md');
        await until(() => changes('notes.md').length === 1, 5000, 'the PUT\'s file_change');
        const one = open(a, 'notes.md');
        const two = open(b, 'notes.md');
        await Promise.all([one.synced(), two.synced()]);
        for (let i = 0; i < 10; i++) {
            (i % 2 ? one : two).text.insert(0, `${i}`);
            await sleep(30);
        }

        const lastEdit = Date.now();
        await until(() => one.text.toJSON() === two.text.toJSON() && one.text.length === 15, 5000, 'the editors to converge');
        const written = await until(async () => {
            const current = await file('notes.md');
            return current.content === one.text.toJSON() && current;
        }, 5000, 'the file to follow the document');
        assert.ok(Date.now() - lastEdit < 2000, `written ${Date.now() - lastEdit} ms after the last edit`);
        assert.equal(written.revision, before.revision + 1);
        await until(() => changes('notes.md').length === 2, 5000, 'the document\'s file_change');
        // Both instances held the document; one revision and one event between them, after a quiet while.
        await sleep(1500);
        assert.equal((await file('notes.md')).revision, before.revision + 1);
        const events = changes('notes.md');
        assert.equal(events.length, 2);
        assert.deepEqual(events[1]!.payload, { file: 'notes.md', content: one.text.toJSON(), revision: before.revision + 1 });
    });

    it('applies a REST PUT to the live document as a minimal edit: a cursor elsewhere keeps its place', async () => {
        const editor = open(b, 'put.txt');
        await editor.synced();
        editor.text.insert(0, 'alpha beta gamma');
        await until(async () => (await file('put.txt'))?.content === 'alpha beta gamma', 5000, 'the file');
        const cursor = Y.createRelativePositionFromTypeIndex(editor.text, 12);      // inside "gamma"
        const put = await a.http('PUT', `/api/projects/workspaces/${team.workspaceId}/files/put.txt`, team.owner.access, { content: 'alpha BETA! gamma' });
        assert.equal(put.statusCode, 200);
        await until(() => editor.text.toJSON() === 'alpha BETA! gamma', 5000, 'the PUT in the editor');
        const moved = Y.createAbsolutePositionFromRelativePosition(cursor, editor.doc);
        assert.equal(moved?.index, 13);
        const latest = await file('put.txt');
        assert.equal(latest.revision, (put.result as { revision: number }).revision);
    });

    it('applies a file_change event to the live document', async () => {
        const editor = open(a, 'event.txt');
        await editor.synced();
        editor.text.insert(0, 'one');
        await until(async () => (await file('event.txt'))?.content === 'one', 5000, 'the file');
        const sender = plainClient(b.port, team.workspaceId, team.collaborator.access);
        await sender.opened;
        sender.send({ event: 'file_change', payload: { file: 'event.txt', content: 'one two' } });
        await until(() => editor.text.toJSON() === 'one two', 5000, 'the event in the editor');
        sender.ws.terminate();
    });

    it('opens a document whose file changed over REST while nobody edited it with the new content', async () => {
        const first = open(a, 'later.txt');
        await first.synced();
        first.text.insert(0, 'v1');
        await until(async () => (await file('later.txt'))?.content === 'v1', 5000, 'the file');
        first.destroy();
        // Through the instance that does not hold the document: it loads it for the write, then lets it go.
        const registry = b.server.plugins['collab-docs'].registry;
        const held = registry.stats().loaded;
        await b.http('PUT', `/api/projects/workspaces/${team.workspaceId}/files/later.txt`, team.owner.access, { content: 'v2 from REST' });
        await until(() => registry.stats().loaded === held, 5000, 'the document to be let go');
        const again = open(b, 'later.txt');
        await again.synced();
        assert.equal(again.text.toJSON(), 'v2 from REST');
    });
});

describe('a server that stops while an edit waits to reach the file', () => {
    it('writes the file before it stops', async () => {
        const database = await createTestDatabase();
        const t = await startServer({ database });
        try {
            const team = await makeTeam(t);
            const editor = openEditor(t.port, team.workspaceId, 'last.txt', team.owner.access);
            await editor.synced();
            editor.text.insert(0, 'last words');
            await until(async () => Number((await database.db('doc_updates').count({ n: '*' }))[0]!.n) > 0, 5000, 'the edit to be stored');
            const stopping = t.stop();
            editor.destroy();
            await stopping;
            const row = await database.db('files').first('content', 'revision').where({ workspace_id: team.workspaceId, path: 'last.txt' }) as { content: string; revision: number } | undefined;
            assert.deepEqual(row, { content: 'last words', revision: 1 });
        }
        finally {
            await database.drop();
        }
    });
});
