import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as encoding from 'lib0/encoding';
import { DocMessage } from '@collab/protocol';

import { startTwoInstances, until, type RealtimeServer, type Team, type TwoInstances } from '../realtime/helpers.js';
import { openEditor, rawDocSocket, type Editor, type RawDocSocket } from './helpers.js';

/** A hand-made awareness message: each entry a client ID, a clock and a state (null removes it). */
function awareness(entries: Array<[client: number, clock: number, state: unknown]>): Uint8Array {
    const update = encoding.createEncoder();
    encoding.writeVarUint(update, entries.length);
    for (const [client, clock, state] of entries) {
        encoding.writeVarUint(update, client);
        encoding.writeVarUint(update, clock);
        encoding.writeVarString(update, JSON.stringify(state));
    }

    const message = encoding.createEncoder();
    encoding.writeVarUint(message, DocMessage.awareness);
    encoding.writeVarUint8Array(message, encoding.toUint8Array(update));
    return encoding.toUint8Array(message);
}

type State = { user?: { name?: string }; cursor?: { index?: number } } | undefined;

describe('awareness: each editor owns its own cursor', () => {
    let a: RealtimeServer;
    let b: RealtimeServer;
    let team: Team;
    let instances: TwoInstances;
    const editors: Editor[] = [];
    const sockets: RawDocSocket[] = [];
    const open = (server: RealtimeServer, path: string, token: string, name: string) => {
        const editor = openEditor(server.port, team.workspaceId, path, token);
        editor.provider.awareness.setLocalStateField('user', { name });
        editors.push(editor);
        return editor;
    };

    const stateOf = (viewer: Editor, client: number) => viewer.provider.awareness.getStates().get(client) as State;
    const named = (viewer: Editor, name: string) => [...viewer.provider.awareness.getStates().values()].some((state) => (state as State)?.user?.name === name);

    before(async () => {
        instances = await startTwoInstances();
        ({ a, b, team } = instances);
    });
    after(async () => {
        editors.forEach((editor) => editor.destroy());
        sockets.forEach((socket) => socket.ws.terminate());
        await instances.stop();
    });

    for (const where of ['the same instance', 'another instance'] as const) {
        it(`ignores a socket on ${where} clearing or overwriting another editor's cursor, and applies the rest of its message`, async () => {
            const path = `cursor-${where.replace(/ /g, '-')}.txt`;
            const victim = open(a, path, team.owner.access, 'Victim');
            victim.provider.awareness.setLocalStateField('cursor', { index: 1 });
            const here = open(a, path, team.viewer.access, 'Here');
            const there = open(b, path, team.viewer.access, 'There');
            const id = victim.doc.clientID;
            await until(() => stateOf(here, id)?.cursor?.index === 1 && stateOf(there, id)?.cursor?.index === 1, 10_000, 'the victim\'s cursor everywhere');

            const attacker = rawDocSocket((where === 'the same instance' ? a : b).port, `${team.workspaceId}/${path}?token=${team.collaborator.access}`);
            sockets.push(attacker);
            await attacker.opened;
            const own = 0x7fff0001;
            attacker.ws.send(awareness([[id, 1000, null]]));
            attacker.ws.send(awareness([[id, 1001, { user: { name: 'Mallory' }, cursor: { index: 99 } }], [own, 1, { user: { name: 'Attacker' } }]]));
            // Messages are handled in order: once the attacker's own entry arrived everywhere, the forged ones were handled too.
            await until(() => named(here, 'Attacker') && named(there, 'Attacker') && named(victim, 'Attacker'), 10_000, 'the attacker\'s own entry everywhere');
            for (const viewer of [here, there]) {
                assert.deepEqual(stateOf(viewer, id), { user: { name: 'Victim' }, cursor: { index: 1 } });
            }

            assert.equal(named(here, 'Mallory') || named(there, 'Mallory'), false);
            // The victim was never told its state was removed: it did not have to announce itself again.
            assert.equal(victim.provider.awareness.meta.get(id)?.clock, 2);

            attacker.ws.send(awareness([[own, 2, null]]));
            await until(() => !named(here, 'Attacker') && !named(there, 'Attacker'), 10_000, 'the attacker clearing its own entry');
            victim.provider.awareness.setLocalStateField('cursor', { index: 5 });
            await until(() => stateOf(here, id)?.cursor?.index === 5 && stateOf(there, id)?.cursor?.index === 5, 10_000, 'the victim still moving its cursor');
        });
    }

    it('lets a provider that reconnects with the same client ID set its cursor again once its old socket is gone', async () => {
        const editor = open(a, 'again.txt', team.owner.access, 'Returning');
        const here = open(a, 'again.txt', team.collaborator.access, 'Here');
        const there = open(b, 'again.txt', team.collaborator.access, 'There');
        const id = editor.doc.clientID;
        await until(() => stateOf(here, id)?.user?.name === 'Returning' && stateOf(there, id)?.user?.name === 'Returning', 10_000, 'the cursor everywhere');

        editor.provider.disconnect();
        await until(() => stateOf(here, id) === undefined && stateOf(there, id) === undefined, 10_000, 'the cursor gone with its socket');
        editor.provider.connect();
        await editor.synced();
        editor.provider.awareness.setLocalStateField('cursor', { index: 7 });
        await until(() => stateOf(here, id)?.cursor?.index === 7 && stateOf(there, id)?.cursor?.index === 7, 10_000, 'the cursor back after reconnecting');
    });
});
