import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { makeTeam, sleep, startServer, until, type RealtimeServer, type Team } from '../realtime/helpers.js';
import { openEditor, storedText, type Editor } from './helpers.js';

describe('documents when the database refuses an update', () => {
    let t: RealtimeServer;
    let team: Team;
    const editors: Editor[] = [];

    before(async () => {
        // The file follows the document a second after an edit: the first edit's write still waits when the next one is refused.
        t = await startServer({ docs: { quietMs: 1000 } });
        team = await makeTeam(t);
    });
    after(async () => {
        editors.forEach((editor) => editor.destroy());
        await t.stop();
    });

    it('sends the update to nobody, closes the editors with 1013, and stores it once they reconnect', async () => {
        const writer = openEditor(t.port, team.workspaceId, 'refused.txt', team.owner.access);
        const reader = openEditor(t.port, team.workspaceId, 'refused.txt', team.collaborator.access);
        editors.push(writer, reader);
        await Promise.all([writer.synced(), reader.synced()]);
        writer.text.insert(0, 'stored ');
        await until(() => reader.text.toJSON() === 'stored ', 5000, 'the first edit');

        const db = t.database.db;
        await db.raw('ALTER TABLE doc_updates ADD CONSTRAINT refuse_all CHECK (false) NOT VALID');
        try {
            writer.text.insert(writer.text.length, 'refused');
            await until(() => writer.closes.includes(1013) && reader.closes.includes(1013), 5000, 'both editors closed with 1013');
            // Past the time the waiting write was due: the server is up and the refused text is not in the file.
            await sleep(1300);
            assert.equal(reader.text.toJSON(), 'stored ');
            const file = await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/files/refused.txt`, team.owner.access);
            assert.doesNotMatch((file.result as { content?: string }).content ?? '', /refused/);
        }
        finally {
            await db.raw('ALTER TABLE doc_updates DROP CONSTRAINT refuse_all');
        }

        // The providers reconnect by themselves; the writer's state comes back in its sync step 2.
        await until(() => reader.text.toJSON() === 'stored refused', 15_000, 'the update after reconnecting');
        await until(async () => await storedText(t.database.db, { workspaceId: team.workspaceId, path: 'refused.txt' }) === 'stored refused', 5000, 'the update in the database');
    });
});
