import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { makeTeam, startServer, until, type RealtimeServer, type Team } from '../realtime/helpers.js';
import { openEditor, rawDocSocket } from './helpers.js';

describe('the document endpoint /yjs/{workspace_id}/{path}', () => {
    let t: RealtimeServer;
    let team: Team;

    before(async () => {
        t = await startServer();
        team = await makeTeam(t);
    });

    after(async () => {
        await t.stop();
    });

    it('syncs two y-websocket providers editing one file', async () => {
        const a = openEditor(t.port, team.workspaceId, 'src/main.py', team.owner.access);
        const b = openEditor(t.port, team.workspaceId, 'src/main.py', team.collaborator.access);
        try {
            await Promise.all([a.synced(), b.synced()]);
            a.text.insert(0, 'print("hi")\n');
            await until(() => b.text.toString() === 'print("hi")\n', 5000, 'b to see a\'s text');
            b.text.insert(b.text.length, '# done\n');
            await until(() => a.text.toString() === 'print("hi")\n# done\n', 5000, 'a to see b\'s text');
        }
        finally {
            a.destroy();
            b.destroy();
        }
    });

    it('starts a document from the file\'s current content', async () => {
        const put = await t.http('PUT', `/api/projects/workspaces/${team.workspaceId}/files/start.txt`, team.owner.access, { content: 'hello world' });
        assert.equal(put.statusCode, 200);
        const a = openEditor(t.port, team.workspaceId, 'start.txt', team.collaborator.access);
        try {
            await a.synced();
            assert.equal(a.text.toString(), 'hello world');
        }
        finally {
            a.destroy();
        }
    });

    it('closes with 4401 for a bad or missing token and 4403 for a workspace without access or none', async () => {
        const bad = rawDocSocket(t.port, `${team.workspaceId}/a.txt?token=nope`);
        assert.equal((await bad.closed).code, 4401);
        const missing = rawDocSocket(t.port, `${team.workspaceId}/a.txt`);
        assert.equal((await missing.closed).code, 4401);
        const outsider = rawDocSocket(t.port, `${team.workspaceId}/a.txt?token=${team.outsider.access}`);
        const none = rawDocSocket(t.port, `999999/a.txt?token=${team.outsider.access}`);
        const [outsiderClose, noneClose] = await Promise.all([outsider.closed, none.closed]);
        assert.equal(outsiderClose.code, 4403);
        assert.equal(noneClose.code, 4403);
        assert.equal(outsiderClose.reason, noneClose.reason);
    });
});
