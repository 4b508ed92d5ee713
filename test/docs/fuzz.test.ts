import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

import { recordCrashes, runs, type CrashRecorder } from '../helpers/fuzz.js';
import { makeTeam, startServer, until, type RealtimeServer, type Team } from '../realtime/helpers.js';
import { openEditor, rawDocSocket } from './helpers.js';

function message(type: number, parts: Array<number | Uint8Array>): Uint8Array {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, type);
    for (const part of parts) {
        if (typeof part === 'number') {
            encoding.writeVarUint(encoder, part);
        }
        else {
            encoding.writeVarUint8Array(encoder, part);
        }
    }

    return encoding.toUint8Array(encoder);
}

const update = fc.string({ maxLength: 40 }).map((text) => {
    const doc = new Y.Doc();
    doc.getText('content').insert(0, text);
    doc.getMap('m').set('k', text);
    return Y.encodeStateAsUpdate(doc);
});

/** Valid messages, then each possibly cut short or with bytes flipped, or plain random bytes. */
const valid = fc.oneof(
    update.map((u) => message(0, [2, u])),
    update.map((u) => message(0, [1, u])),
    fc.constant(message(0, [0, Y.encodeStateVector(new Y.Doc())])),
    fc.record({ client: fc.nat(), clock: fc.nat(), state: fc.jsonValue() }).map(({ client, clock, state }) => {
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, 1);
        encoding.writeVarUint(encoder, client);
        encoding.writeVarUint(encoder, clock);
        encoding.writeVarString(encoder, JSON.stringify(state));
        return message(1, [encoding.toUint8Array(encoder)]);
    }),
    fc.constant(Uint8Array.of(3))
);
const mangled = fc.oneof(
    valid,
    fc.tuple(valid, fc.nat()).map(([bytes, cut]) => bytes.subarray(0, cut % Math.max(1, bytes.length))),
    fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([bytes, at, value]) => {
        const copy = Uint8Array.from(bytes);
        copy[at % copy.length] = value;
        return copy;
    }),
    fc.uint8Array({ maxLength: 64 })
);

describe('document sockets under random messages', () => {
    let t: RealtimeServer;
    let team: Team;
    let crashes: CrashRecorder;

    before(async () => {
        crashes = recordCrashes();
        t = await startServer();
        team = await makeTeam(t);
    });
    after(async () => {
        await t.stop();
        crashes.stop();
    });

    it('closes with 1007 or goes on, never crashes, and keeps serving the document', async () => {
        let run = 0;
        await fc.assert(fc.asyncProperty(fc.array(mangled, { minLength: 1, maxLength: 8 }), fc.constantFrom('collaborator', 'viewer'), async (messages, who) => {
            const path = `fuzz-${run++ % 3}.txt`;
            const socket = rawDocSocket(t.port, `${team.workspaceId}/${path}?token=${team[who as 'collaborator' | 'viewer'].access}`);
            await socket.opened;
            for (const bytes of messages) {
                socket.ws.send(bytes);
            }

            const answered = socket.messages.length;
            socket.ws.send(message(0, [0, Y.encodeStateVector(new Y.Doc())]));
            // Either the socket answers a last sync step 1 with step 2, or it was closed for something before it.
            const outcome = await Promise.race([
                socket.closed.then(({ code }) => code),
                until(() => socket.messages.slice(answered).some((m) => m[0] === 0 && m[1] === 1) && 'answered', 5000, 'an answer')
            ]);
            socket.ws.terminate();
            assert.ok(outcome === 'answered' || outcome === 1007, `outcome ${outcome}`);
        }), { numRuns: runs(40) });

        assert.deepEqual(crashes.errors, []);
        const editor = openEditor(t.port, team.workspaceId, 'fuzz-0.txt', team.owner.access);
        try {
            await editor.synced();
            editor.text.insert(0, 'after');
            const reader = openEditor(t.port, team.workspaceId, 'fuzz-0.txt', team.collaborator.access);
            await reader.synced();
            await until(() => reader.text.toJSON().includes('after'), 5000, 'an edit after the fuzzing');
            reader.destroy();
        }
        finally {
            editor.destroy();
        }
    });
});
