import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

import { makeTeam, startServer, until, type RealtimeServer, type Team } from '../realtime/helpers.js';
import { openEditor, rawDocSocket, storedRows, type Editor } from './helpers.js';

/** A y-websocket sync message (`step` 0, 1 or 2) around `payload`. */
function sync(step: number, payload: Uint8Array): Buffer {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 0);
    encoding.writeVarUint(encoder, step);
    encoding.writeVarUint8Array(encoder, payload);
    return Buffer.from(encoding.toUint8Array(encoder));
}

/** An update inserting `text` at 0 into the document's `content`, from a fresh client. */
function insertion(text: string): Uint8Array {
    const doc = new Y.Doc();
    doc.getText('content').insert(0, text);
    return Y.encodeStateAsUpdate(doc);
}

describe('document sockets against hostile clients', () => {
    let t: RealtimeServer;
    let team: Team;
    const editors: Editor[] = [];
    const url = (path: string, token = team.owner.access) => `${team.workspaceId}/${path}?token=${token}`;
    const stored = (path: string) => storedRows(t.database.db, { workspaceId: team.workspaceId, path });

    before(async () => {
        t = await startServer();
        team = await makeTeam(t);
    });
    after(async () => {
        editors.forEach((editor) => editor.destroy());
        await t.stop();
    });

    it('closes with 1007, storing nothing, for malformed, truncated or unknown messages', async () => {
        const editor = openEditor(t.port, team.workspaceId, 'target.txt', team.owner.access);
        editors.push(editor);
        await editor.synced();
        editor.text.insert(0, 'intact');
        await until(async () => await stored('target.txt') > 0, 5000, 'the edit to be stored');
        const before = await stored('target.txt');

        const update = insertion('evil');
        const bad = [
            Buffer.from([0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f]),              // a length past the end
            sync(2, update.subarray(0, update.length - 3)),                 // a truncated update
            sync(2, Buffer.from([5, 1, 2, 3])),                             // not an update at all
            sync(7, new Uint8Array([0])),                                   // an unknown sync step
            Buffer.from([9]),                                               // an unknown message type
            Buffer.from([1, 3, 1, 1]),                                      // a truncated awareness message
            sync(0, new Uint8Array([200, 1]))                               // a truncated state vector
        ];
        for (const message of bad) {
            const socket = rawDocSocket(t.port, url('target.txt'));
            await socket.opened;
            socket.ws.send(message);
            assert.equal((await socket.closed).code, 1007, `message ${message.toString('hex')}`);
        }

        assert.equal(await stored('target.txt'), before);
        const reader = openEditor(t.port, team.workspaceId, 'target.txt', team.collaborator.access);
        editors.push(reader);
        await reader.synced();
        assert.equal(reader.text.toJSON(), 'intact');
    });

    it('closes with 1009 for a frame over 1 MiB', async () => {
        const socket = rawDocSocket(t.port, url('big-frame.txt'));
        await socket.opened;
        socket.ws.send(Buffer.alloc(1024 * 1024 + 1));
        assert.equal((await socket.closed).code, 1009);
    });

    it('refuses with permission denied an update that would make the text exceed 1 MiB, and applies nothing of it', async () => {
        const writer = openEditor(t.port, team.workspaceId, 'huge.txt', team.owner.access);
        const reader = openEditor(t.port, team.workspaceId, 'huge.txt', team.collaborator.access);
        editors.push(writer, reader);
        await Promise.all([writer.synced(), reader.synced()]);
        for (let i = 0; i < 10; i++) {
            writer.text.insert(writer.text.length, String(i).repeat(100_000));
        }

        await until(() => reader.text.length === 1_000_000, 15_000, 'a million characters');
        writer.text.insert(0, 'x'.repeat(60_000));
        await until(() => writer.denied.length > 0, 10_000, 'permission denied');
        assert.match(writer.denied[0]!, /^permission denied/);
        reader.text.insert(0, 'ok');
        await until(() => writer.text.toJSON().includes('ok'), 5000, 'a later edit');
        assert.equal(reader.text.length, 1_000_002);
        assert.ok(!reader.text.toJSON().includes('x'));
    });

    it('refuses updates that would grow the whole state past 4 MiB, whatever shared type they fill', async () => {
        const writer = openEditor(t.port, team.workspaceId, 'map.txt', team.owner.access);
        editors.push(writer);
        await writer.synced();
        const map = writer.doc.getMap('other');
        for (let i = 0; i < 6; i++) {
            map.set(`k${i}`, 'z'.repeat(900_000));
        }

        await until(() => writer.denied.length > 0, 10_000, 'permission denied');
        const key = { workspaceId: team.workspaceId, path: 'map.txt' };
        const registry = t.server.plugins['collab-docs'].registry;
        const doc = await registry.acquire(key);
        try {
            assert.ok(doc.state.bytes <= 4 * 1024 * 1024, `${doc.state.bytes} bytes`);
            assert.ok(doc.state.doc.getMap('other').size < 6);
        }
        finally {
            registry.release(doc);
        }
    });

    it('closes a socket that floods messages past its rate limit with 1008', async () => {
        const socket = rawDocSocket(t.port, url('flood.txt'));
        await socket.opened;
        const query = Buffer.from([3]);
        for (let i = 0; i < 1000 && socket.ws.readyState === socket.ws.OPEN; i++) {
            socket.ws.send(query);
        }

        assert.equal((await socket.closed).code, 1008);
    });

    it('refuses invalid paths with 4400 and unknown workspaces with 4403', async () => {
        // (`..` and `\\` never reach the server from a WHATWG client: the URL is resolved before it is sent.)
        for (const path of ['a%00b.txt', 'a%01b', '', 'a//b', 'a/', '%ZZ', '%E0%A4%A', 'x'.repeat(256)]) {
            const socket = rawDocSocket(t.port, url(path));
            assert.equal((await socket.closed).code, 4400, `path ${JSON.stringify(path)}`);
        }

        for (const workspace of ['abc', '0', '99999999999']) {
            const socket = rawDocSocket(t.port, `${workspace}/a.txt?token=${team.owner.access}`);
            assert.equal((await socket.closed).code, 4403, `workspace ${workspace}`);
        }
    });

    it('leaves nothing behind when sockets drop in the middle of a sync, and keeps serving', async () => {
        const census = () => t.server.plugins['collab-realtime'].hub.census().connections;
        const start = census();
        for (let i = 0; i < 20; i++) {
            const socket = rawDocSocket(t.port, url('drops.txt'));
            if (i % 2) {
                await socket.opened;
                socket.ws.send(sync(0, Y.encodeStateVector(new Y.Doc())));
                socket.ws.send(sync(2, insertion(`drop ${i}`)).subarray(0, 5));
            }

            socket.ws.terminate();
        }

        await until(() => census() === start, 5000, 'every dropped socket to be gone');
        const editor = openEditor(t.port, team.workspaceId, 'drops.txt', team.owner.access);
        editors.push(editor);
        await editor.synced();
        editor.text.insert(0, 'still here');
        await until(async () => await stored('drops.txt') > 0, 5000, 'the edit to be stored');
    });
});
