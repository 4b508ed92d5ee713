import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CollabClient, ConflictError, PermissionError, ValidationError } from '@collab/sdk';

import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

describe('client.events and presence', () => {
    let t: TestServer;
    let owner: TestUser;
    let client: CollabClient;
    let workspaceId: number;

    before(async () => {
        t = await startTestServer({ listen: true });
        owner = await t.user('owner');
        client = new CollabClient({ baseUrl: t.server.info.uri, token: owner.access, refreshToken: owner.refresh });
        const project = await client.projects.create({ name: 'Events' });
        workspaceId = (await client.workspaces.create(project.id, { name: 'live' })).id;
    });
    after(() => t.stop());

    it('sends events and reads them back in seq order, across pages', async () => {
        const seqs: number[] = [];
        for (let i = 0; i < 7; ++i) {
            seqs.push((await client.events.send(workspaceId, { event: 'chat.message', payload: { i } })).seq);
        }

        assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i));
        const all = await client.events.history(workspaceId, { limit: 3 }).toArray();
        assert.deepEqual(all.map((e) => e.seq), seqs);
        assert.deepEqual(all.map((e) => (e.payload as { i: number }).i), [0, 1, 2, 3, 4, 5, 6]);
        assert.deepEqual([all[0]!.event, all[0]!.user, all[0]!.user_id, all[0]!.workspace], ['chat.message', owner.email, owner.id, workspaceId]);

        const later = await client.events.history(workspaceId, { after: seqs[4]!, epoch: all[0]!.epoch });
        assert.deepEqual(later.data.map((e) => e.seq), seqs.slice(5));
    });

    it('answers a stale epoch with a ConflictError holding the current one', async () => {
        const current = (await client.events.history(workspaceId)).data[0]!.epoch;
        const err = await client.events.history(workspaceId, { after: 1, epoch: 'stale-epoch' }).catch((e: unknown) => e);
        assert.ok(err instanceof ConflictError);
        assert.equal(err.body?.epoch, current);
    });

    it('refuses bad event names and viewers', async () => {
        await assert.rejects(client.events.send(workspaceId, { event: 'Bad Name', payload: {} }), (err: unknown) => err instanceof ValidationError && err.field === 'event');
        const viewer = await t.user('viewer');
        const project = (await client.workspaces.get(workspaceId)).project;
        await client.members.add(project, { user_id: viewer.id, role: 'viewer' });
        const asViewer = new CollabClient({ baseUrl: t.server.info.uri, token: viewer.access });
        await assert.rejects(asViewer.events.send(workspaceId, { event: 'chat.message', payload: {} }), PermissionError);
    });

    it('lists presence (nobody is connected)', async () => {
        assert.deepEqual(await client.workspaces.presence(workspaceId), []);
    });
});
