import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import { makeTeam, startServer, until, type RealtimeServer, type Team } from '../realtime/helpers.js';
import { openEditor, rawDocSocket, storedRows, storedText } from './helpers.js';

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

describe('document sockets under the server\'s connection rules', () => {
    let t: RealtimeServer;
    let team: Team;

    before(async () => {
        t = await startServer({ realtime: { allowedOrigins: ['https://app.example'], maxConnections: 2 }, docs: { compactEvery: 5 } });
        team = await makeTeam(t);
    });

    after(async () => {
        await t.stop();
    });

    it('refuses a disallowed Origin with HTTP 403 before the handshake', async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${t.port}/yjs/${team.workspaceId}/a.txt?token=${team.owner.access}`, { headers: { origin: 'https://evil.example' } });
        ws.on('error', () => undefined);
        const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!)));
        assert.equal(status, 403);
    });

    it('closes with 1013 when the instance is at capacity', async () => {
        const first = openEditor(t.port, team.workspaceId, 'full.txt', team.owner.access);
        const second = openEditor(t.port, team.workspaceId, 'full.txt', team.collaborator.access);
        try {
            await Promise.all([first.synced(), second.synced()]);
            const third = rawDocSocket(t.port, `${team.workspaceId}/full.txt?token=${team.viewer.access}`);
            assert.equal((await third.closed).code, 1013);
        }
        finally {
            first.destroy();
            second.destroy();
        }
    });

    it('compacts appended updates into the snapshot, keeping the text', async () => {
        const key = { workspaceId: team.workspaceId, path: 'compact.txt' };
        const editor = openEditor(t.port, team.workspaceId, 'compact.txt', team.owner.access);
        try {
            await editor.synced();
            for (let i = 0; i < 12; i++) {
                editor.text.insert(editor.text.length, `${i},`);
            }

            await until(async () => await storedText(t.database.db, key) === '0,1,2,3,4,5,6,7,8,9,10,11,', 5000, 'the text in the database');
            await until(async () => await storedRows(t.database.db, key) < 5, 5000, 'the updates to be compacted');
        }
        finally {
            editor.destroy();
        }
    });
});
