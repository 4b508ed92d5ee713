import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CloseCode } from '@collab/protocol';

import { docFiles } from '../../packages/server/src/docs/files.js';
import { DocStore } from '../../packages/server/src/docs/store.js';
import { onPglite, type TestDatabase } from '../helpers/database.js';
import { sleep, startTwoInstances, until, type RealtimeServer, type Team, type TwoInstances } from '../realtime/helpers.js';
import { openEditor, type Editor } from './helpers.js';

describe('deleting a file that has a document', () => {
    let database: TestDatabase;
    let a: RealtimeServer;
    let b: RealtimeServer;
    let team: Team;
    let instances: TwoInstances;
    const editors: Editor[] = [];
    const open = (server: RealtimeServer, path: string) => {
        const editor = openEditor(server.port, team.workspaceId, path, team.owner.access);
        editors.push(editor);
        return editor;
    };

    const url = (path: string) => `/api/projects/workspaces/${team.workspaceId}/files/${path}`;
    const stored = async (path: string) => {
        const where = { workspace_id: team.workspaceId, path };
        const [snapshots, updates] = await Promise.all([database.db('doc_snapshots').where(where).select('path'), database.db('doc_updates').where(where).select('path')]);
        return snapshots.length + updates.length;
    };

    before(async () => {
        instances = await startTwoInstances();
        ({ database, a, b, team } = instances);
    });
    after(async () => {
        editors.forEach((editor) => editor.destroy());
        await instances.stop();
    });

    it('closes the editors on every instance with 4410, removes the stored state, and a file created later at that path opens with its own content', async () => {
        await a.http('PUT', url('gone.txt'), team.owner.access, { content: 'old text' });
        const one = open(a, 'gone.txt');
        const two = open(b, 'gone.txt');
        await Promise.all([one.synced(), two.synced()]);
        one.text.insert(0, 'edited ');
        await until(() => two.text.toJSON() === 'edited old text', 5000, 'the edit on the other instance');
        await until(async () => ((await a.http('GET', url('gone.txt'), team.owner.access)).result as { content: string }).content === 'edited old text', 5000, 'the file following the document');
        // An edit waiting for its debounced write on each instance when the file goes.
        one.text.insert(one.text.length, ' one');
        two.text.insert(0, 'two ');
        await until(() => one.text.toJSON() === two.text.toJSON() && one.text.toJSON().includes('two') && one.text.toJSON().includes('one'), 5000, 'both edits everywhere');

        const deleted = await b.http('DELETE', url('gone.txt'), team.collaborator.access);
        assert.equal(deleted.statusCode, 204);
        await until(() => one.closes.includes(CloseCode.fileDeleted) && two.closes.includes(CloseCode.fileDeleted), 5000, 'both editors closed with 4410');
        assert.equal(await stored('gone.txt'), 0);

        await sleep(2500);
        assert.equal((await a.http('GET', url('gone.txt'), team.owner.access)).statusCode, 404);
        assert.equal(one.provider.wsconnected || two.provider.wsconnected, false);

        const put = await a.http('PUT', url('gone.txt'), team.owner.access, { content: 'new text' });
        assert.deepEqual(put.result, { path: 'gone.txt', revision: 1 });
        const three = open(b, 'gone.txt');
        const four = open(a, 'gone.txt');
        await Promise.all([three.synced(), four.synced()]);
        assert.equal(three.text.toJSON(), 'new text');
        assert.equal(four.text.toJSON(), 'new text');
        three.text.insert(0, 'fresh ');
        await until(() => four.text.toJSON() === 'fresh new text', 5000, 'an edit of the new document');
        await until(async () => ((await a.http('GET', url('gone.txt'), team.owner.access)).result as { content: string }).content === 'fresh new text', 5000, 'the new file following its document');

        // An editor that reconnects with the deleted document's state is closed again; none of it reaches the new file.
        one.provider.connect();
        await until(() => one.closes.filter((code) => code === CloseCode.fileDeleted).length === 2, 5000, 'the old editor closed with 4410 again');
        one.provider.disconnect();
        await sleep(2000);
        assert.equal(four.text.toJSON(), 'fresh new text');
        assert.equal(three.text.toJSON(), 'fresh new text');
        assert.equal(((await a.http('GET', url('gone.txt'), team.owner.access)).result as { content: string }).content, 'fresh new text');
        const five = open(a, 'gone.txt');
        await five.synced();
        assert.equal(five.text.toJSON(), 'fresh new text');
    });

    it('answers 404 for a file that does not exist and leaves a document opened on that path alone', async () => {
        const editor = open(a, 'unwritten.txt');
        await editor.synced();
        const deleted = await b.http('DELETE', url('unwritten.txt'), team.owner.access);
        assert.equal(deleted.statusCode, 404);
        editor.text.insert(0, 'still here');
        await until(async () => ((await b.http('GET', url('unwritten.txt'), team.owner.access)).result as { content?: string }).content === 'still here', 5000, 'the first edit creating the file');
        assert.deepEqual(editor.closes, []);
    });

    it('never brings a deleted file back with a write of its document already on its way', async () => {
        const key = { workspaceId: team.workspaceId, path: 'race.txt' };
        const store = new DocStore(database.db);
        const files = docFiles(a.server, store);
        await a.http('PUT', url('race.txt'), team.owner.access, { content: 'v1' });
        await store.load(key, () => files.read(key));

        // The deletion holds the document's rows while the write starts: the write waits for it, then finds the state gone.
        const trx = await database.db.transaction();
        let write: Promise<void>;
        try {
            await store.remove(trx, key);
            await trx('files').where({ workspace_id: key.workspaceId, path: key.path }).delete();
            write = files.write(key, 'written back', team.owner);
            if (!onPglite) {
                await until(async () => (await database.db('pg_locks').where({ granted: false }).select('pid')).length > 0, 5000, 'the write waiting for the deletion');
            }

            await trx.commit();
        }
        catch (err) {
            await trx.rollback();
            throw err;
        }

        await write;
        assert.equal((await a.http('GET', url('race.txt'), team.owner.access)).statusCode, 404);
        // A write after the deletion writes nothing either.
        await files.write(key, 'written later', team.owner);
        assert.equal((await a.http('GET', url('race.txt'), team.owner.access)).statusCode, 404);
        assert.equal(await stored('race.txt'), 0);
    });
});
