import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Redis } from 'ioredis';

import { REDIS_URL } from '../helpers/config.js';
import { startTwoInstances, until, type RealtimeServer, type Team, type TwoInstances } from '../realtime/helpers.js';
import { metric, openEditor, type Editor } from './helpers.js';

describe('documents across two instances on one Redis', () => {
    let a: RealtimeServer;
    let b: RealtimeServer;
    let team: Team;
    let instances: TwoInstances;
    const editors: Editor[] = [];
    const open = (server: RealtimeServer, path: string, token: string) => {
        const editor = openEditor(server.port, team.workspaceId, path, token);
        editors.push(editor);
        return editor;
    };

    before(async () => {
        instances = await startTwoInstances({ docs: { idleMs: 300, awarenessTimeoutMs: 3000 } });
        ({ a, b, team } = instances);
    });
    after(async () => {
        editors.forEach((editor) => editor.destroy());
        await instances.stop();
    });

    it('converges two editors typing at once on two instances, each seeing the other\'s cursor', async () => {
        const one = open(a, 'both.md', team.owner.access);
        const two = open(b, 'both.md', team.collaborator.access);
        await Promise.all([one.synced(), two.synced()]);
        one.provider.awareness.setLocalStateField('user', { name: 'Owner' });
        two.provider.awareness.setLocalStateField('user', { name: 'Collaborator' });
        for (let i = 0; i < 20; i++) {
            one.text.insert(0, `a${i};`);
            two.text.insert(two.text.length, `b${i};`);
        }

        one.provider.awareness.setLocalStateField('cursor', { index: 3 });
        await until(() => one.text.length === two.text.length && one.text.toJSON() === two.text.toJSON() && one.text.length > 100, 10_000, 'the same text');
        for (let i = 0; i < 20; i++) {
            assert.ok(one.text.toJSON().includes(`a${i};`) && one.text.toJSON().includes(`b${i};`));
        }

        const names = (editor: Editor) => [...editor.provider.awareness.getStates().values()].map((state) => (state.user as { name?: string } | undefined)?.name);
        await until(() => names(one).includes('Collaborator') && names(two).includes('Owner'), 10_000, 'each other\'s awareness');
        await until(() => ([...two.provider.awareness.getStates().values()].find((state) => (state.user as { name: string } | undefined)?.name === 'Owner')?.cursor as { index?: number } | undefined)?.index === 3, 10_000, 'the owner\'s cursor on the other instance');
    });

    it('keeps twenty editors connected, each seeing the others\' cursors (providers echo every state they learn)', async () => {
        const named = (i: number) => {
            const editor = open(i % 2 ? a : b, 'crowd.txt', team.owner.access);
            editor.provider.awareness.setLocalStateField('user', { name: `e${i}` });
            return editor;
        };
        const crowd = Array.from({ length: 19 }, (_, i) => named(i));
        await until(() => crowd.every((editor) => [...editor.provider.awareness.getStates().values()].filter((state) => state.user).length === 19), 15_000, 'nineteen cursors');
        // The last one learns 19 states in one message and echoes them all back.
        crowd.push(named(19));
        await until(() => crowd.every((editor) => [...editor.provider.awareness.getStates().values()].filter((state) => state.user).length === 20), 15_000, 'every cursor everywhere');
        assert.deepEqual(crowd.flatMap((editor) => editor.closes), []);
        crowd.forEach((editor) => editor.destroy());
    });

    it('sends one small message through Redis per edit, not the whole document', async () => {
        const one = open(a, 'big.txt', team.owner.access);
        const two = open(b, 'big.txt', team.collaborator.access);
        await Promise.all([one.synced(), two.synced()]);
        one.text.insert(0, 'x'.repeat(50_000));
        await until(() => two.text.length === 50_000, 10_000, 'the large text on the other instance');

        const listener = new Redis(REDIS_URL);
        const sizes: number[] = [];
        try {
            listener.on('messageBuffer', (_channel: Buffer, message: Buffer) => sizes.push(message.length));
            await listener.subscribe(`${a.config.redisPrefix}docs:{ws:${team.workspaceId}}:big.txt`);
            for (let i = 0; i < 10; i++) {
                one.text.insert(25_000 + i, 'y');
            }

            await until(() => two.text.toJSON().includes('yyyyyyyyyy'), 5000, 'the ten edits');
            await until(() => sizes.length >= 10, 5000, 'the relayed updates');
            assert.ok(Math.max(...sizes) < 500, `largest message ${Math.max(...sizes)} bytes`);
        }
        finally {
            listener.disconnect();
        }
    });

    it('holds a document only on instances with editors and unloads it after the last leaves', async () => {
        const before = await metric(b, 'docs_loaded');
        const editor = open(a, 'only-a.txt', team.owner.access);
        await editor.synced();
        editor.text.insert(0, 'on a');
        assert.equal(await metric(b, 'docs_loaded'), before);
        const loaded = await metric(a, 'docs_loaded');
        assert.ok(loaded >= 1);
        assert.ok(await metric(a, 'docs_state_bytes') > 0);
        editor.destroy();
        await until(async () => await metric(a, 'docs_loaded') === loaded - 1, 10_000, 'the document to unload');
    });

    it('removes an editor\'s cursor from the other instance when it leaves', async () => {
        const stay = open(a, 'cursor.txt', team.owner.access);
        const leave = open(b, 'cursor.txt', team.collaborator.access);
        await Promise.all([stay.synced(), leave.synced()]);
        leave.provider.awareness.setLocalStateField('user', { name: 'Leaving' });
        const present = () => [...stay.provider.awareness.getStates().values()].some((state) => (state.user as { name?: string } | undefined)?.name === 'Leaving');
        await until(present, 5000, 'the cursor to show');
        leave.provider.ws?.close();
        leave.provider.shouldConnect = false;
        await until(() => !present(), 5000, 'the cursor to go');
    });
});
