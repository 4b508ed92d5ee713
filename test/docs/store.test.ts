import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';
import * as Y from 'yjs';

import { DocStore, merged, type DocKey } from '../../packages/server/src/docs/store.js';
import { onPglite } from '../helpers/database.js';
import { runs } from '../helpers/fuzz.js';
import { makeTeam, sleep, startServer, until, type RealtimeServer, type Team } from '../realtime/helpers.js';
import { openEditor, storedRows, storedText } from './helpers.js';

/** The update a change to `doc` makes. */
function change(doc: Y.Doc, edit: (text: Y.Text) => void): Uint8Array {
    let update: Uint8Array | undefined;
    const listener = (u: Uint8Array) => (update = u);
    doc.on('update', listener);
    edit(doc.getText('content'));
    doc.off('update', listener);
    return update!;
}

function textOf(state: Uint8Array): string {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, state);
    return doc.getText('content').toJSON();
}

/** Three editors making inserts and deletions, seeing each other's updates only now and then: the updates, in the order made. */
const histories = fc.array(fc.record({
    editor: fc.integer({ min: 0, max: 2 }),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    remove: fc.nat({ max: 4 }),
    insert: fc.string({ maxLength: 6 }),
    sync: fc.boolean()
}), { maxLength: 80 }).map((steps) => {
    const editors = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
    const snapshot = change(editors[0]!, (text) => text.insert(0, 'hello world'));
    for (const editor of editors.slice(1)) {
        Y.applyUpdate(editor, snapshot);
    }

    const updates: Uint8Array[] = [];
    for (const { editor, at, remove, insert, sync } of steps) {
        const doc = editors[editor]!;
        const update = change(doc, (text) => {
            const index = Math.floor(at * text.length);
            text.delete(index, Math.min(remove, text.length - index));
            text.insert(index, insert);
        });
        if (update) {
            updates.push(update);
        }

        if (sync) {
            for (const other of editors) {
                Y.applyUpdate(other, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(other)));
            }
        }
    }

    return { snapshot, updates };
});

describe('merging a stored document', () => {
    it('gives the text Yjs\'s own merge gives, for any history of concurrent edits', async () => {
        await fc.assert(fc.asyncProperty(histories, async ({ snapshot, updates }) => {
            assert.equal(textOf(await merged(snapshot, updates)), textOf(Y.mergeUpdates([snapshot, ...updates])));
        }), { numRuns: runs(200) });
    });

    it('keeps an update whose dependency is missing, to be completed by it later', async () => {
        const editor = new Y.Doc();
        const snapshot = change(editor, (text) => text.insert(0, 'abc'));
        const missing = change(editor, (text) => text.insert(3, 'def'));
        const dependent = change(editor, (text) => text.insert(6, 'ghi'));
        const state = await merged(snapshot, [dependent]);
        assert.equal(textOf(state), 'abc');
        assert.equal(textOf(await merged(state, [missing])), 'abcdefghi');
    });
});

describe('the document store', () => {
    let t: RealtimeServer;
    let team: Team;

    before(async () => {
        t = await startServer({ docs: { compactIdleMs: 1000 } });
        team = await makeTeam(t);
    });

    after(async () => {
        await t.stop();
    });

    /** Runs `work` while a transaction holds the snapshot's row as compact() holds it while it merges and writes. */
    async function whileCompacting<T>(key: DocKey, work: () => Promise<T>): Promise<T> {
        const trx = await t.database.db.transaction();
        try {
            await trx('doc_snapshots').first('path').where({ workspace_id: key.workspaceId, path: key.path }).forNoKeyUpdate();
            return await work();
        }
        finally {
            await trx.rollback();
        }
    }

    /** A document stored with `text`, and an editor holding its state. */
    async function stored(path: string, text: string): Promise<{ key: DocKey; store: DocStore; editor: Y.Doc }> {
        const key = { workspaceId: team.workspaceId, path };
        const store = new DocStore(t.database.db);
        const editor = new Y.Doc();
        Y.applyUpdate(editor, await store.load(key, () => Promise.resolve(text)));
        return { key, store, editor };
    }

    it('commits an append while a compaction holds the snapshot\'s row', { skip: onPglite && 'the embedded database runs one transaction at a time' }, async () => {
        const { key, store, editor } = await stored('locked.txt', 'abc');
        const outcome = await whileCompacting(key, () => {
            const appended = store.append(key, change(editor, (text) => text.insert(3, 'd')));
            return Promise.race([appended.then(() => 'committed'), sleep(3000).then(() => 'still waiting')]);
        });
        assert.equal(outcome, 'committed');
        assert.equal(await storedText(t.database.db, key), 'abcd');
    });

    it('leaves the rows to the compaction already running on another instance, without waiting for it', { skip: onPglite && 'the embedded database runs one transaction at a time' }, async () => {
        const { key, store, editor } = await stored('compacting.txt', 'abc');
        await store.append(key, change(editor, (text) => text.insert(3, 'd')));
        const outcome = await whileCompacting(key, () => Promise.race([store.compact(key).then(() => 'returned'), sleep(3000).then(() => 'still waiting')]));
        assert.equal(outcome, 'returned');
        assert.equal(await storedRows(t.database.db, key), 1);
        await store.compact(key);
        assert.equal(await storedRows(t.database.db, key), 0);
        assert.equal(await storedText(t.database.db, key), 'abcd');
    });

    it('compacts a document once its edits pause, long before the count that compacts it while edits go on', async () => {
        const key = { workspaceId: team.workspaceId, path: 'paused.txt' };
        const rows = () => storedRows(t.database.db, key);
        const editor = openEditor(t.port, team.workspaceId, key.path, team.owner.access);
        try {
            await editor.synced();
            for (let i = 0; i < 10; i++) {
                editor.text.insert(editor.text.length, `${i};`);
            }

            await until(async () => await rows() === 10, 5000, 'the edits to be stored');
            await until(async () => await rows() === 0, 8000, 'the document to be compacted');
            assert.equal(await storedText(t.database.db, key), '0;1;2;3;4;5;6;7;8;9;');
        }
        finally {
            editor.destroy();
        }
    });

    it('loses no update appended by one instance while two others compact', async () => {
        const { key, store, editor } = await stored('busy.txt', '');
        const compactors = [new DocStore(t.database.db), new DocStore(t.database.db)];
        let appending = true;
        const compacting = compactors.map(async (compactor) => {
            while (appending) {
                await compactor.compact(key);
                // The embedded database answers without I/O: without a turn of the event loop the appends would never start.
                await new Promise(setImmediate);
            }
        });
        const expected: string[] = [];
        for (let i = 0; i < 150; i++) {
            expected.push(`${i};`);
            await store.append(key, change(editor, (text) => text.insert(text.length, `${i};`)));
        }

        appending = false;
        await Promise.all(compacting);
        await store.compact(key);
        assert.equal(await storedText(t.database.db, key), expected.join(''));
        assert.equal(await storedRows(t.database.db, key), 0);
    });
});
