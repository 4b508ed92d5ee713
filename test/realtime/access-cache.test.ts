import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Membership } from '@collab/core';

import { AccessCache } from '../../packages/server/src/realtime/access-cache.js';
import { type TestDatabase } from '../helpers/database.js';
import { makeTeam, nesConnection, nesSubscribe, plainClient, startTwoInstances, until, type NesClientType, type PlainClient, type RealtimeServer, type Team, type TwoInstances } from './helpers.js';

/** Sockets get their membership from a short-lived cache: every change still applies to the next socket, on every instance. */
describe('the membership cache of sockets', () => {
    let database: TestDatabase;
    let a: RealtimeServer;
    let b: RealtimeServer;
    let team: Team;
    let instances: TwoInstances;
    const plains: PlainClient[] = [];
    const nes: NesClientType[] = [];
    const plainOn = (port: number, workspaceId: number, token: string) => {
        const client = plainClient(port, workspaceId, token);
        plains.push(client);
        return client;
    };
    const nesSubscribed = async (port: number, token: string, workspaceId: number) => {
        const { client } = await nesConnection(port, token);
        nes.push(client);
        try {
            await nesSubscribe(client, `/workspaces/${workspaceId}`);
            return 'subscribed';
        }
        catch (err) {
            return `refused ${(err as { statusCode?: number }).statusCode}`;
        }
    };

    before(async () => {
        instances = await startTwoInstances();
        ({ database, a, b, team } = instances);
    });
    after(async () => {
        plains.forEach((client) => client.ws.terminate());
        await Promise.all(nes.map((client) => client.disconnect()));
        await instances.stop();
    });

    it('a removed member\'s next socket is refused on both instances, though the same sockets were granted a moment before', async () => {
        const other = await makeTeam(a);
        const member = other.collaborator;
        for (const server of [a, b]) {
            const granted = plainOn(server.port, other.workspaceId, member.access);
            await granted.opened;
            assert.equal(await nesSubscribed(server.port, member.access, other.workspaceId), 'subscribed');
        }

        assert.equal((await a.http('DELETE', `/api/projects/projects/${other.projectId}/members/${member.id}/`, other.owner.access)).statusCode, 204);
        // On the instance that answered the DELETE, at once.
        assert.deepEqual(await plainOn(a.port, other.workspaceId, member.access).closed, { code: 4403, reason: 'no access to this workspace' });
        assert.equal(await nesSubscribed(a.port, member.access, other.workspaceId), 'refused 404');
        // On the other one, once the control message arrived (the same message revokes the live subscriptions there).
        await until(async () => (await plainOn(b.port, other.workspaceId, member.access).closed).code === 4403, 5_000, 'a refusal on the other instance');
        assert.equal(await nesSubscribed(b.port, member.access, other.workspaceId), 'refused 404');
    });

    it('a changed role applies to the next socket on every instance: a viewer made collaborator may send', async () => {
        const send = async (client: PlainClient) => {
            await client.opened;
            const from = client.frames.length;
            client.send({ event: 'try', payload: {} });
            return client.next((frame) => frame.event === 'try' || frame.event === 'error', 5_000, from);
        };

        for (const server of [a, b]) {
            const asViewer = await send(plainOn(server.port, team.workspaceId, team.viewer.access));
            assert.equal(asViewer.event, 'error', JSON.stringify(asViewer));
            assert.equal(asViewer.payload.code, 403);
        }

        const res = await a.http('PATCH', `/api/projects/projects/${team.projectId}/members/${team.viewer.id}/`, team.owner.access, { role: 'collaborator' });
        assert.equal(res.statusCode, 200);
        assert.equal((await send(plainOn(a.port, team.workspaceId, team.viewer.access))).event, 'try');
        await until(async () => (await send(plainOn(b.port, team.workspaceId, team.viewer.access))).event === 'try', 5_000, 'the new role on the other instance');
    });

    it('keeps nothing that was being looked up when a change was announced', async () => {
        const other = await makeTeam(a);
        const cache = new AccessCache(database.db);
        const inFlight = cache.get(other.workspaceId, other.viewer.id);
        cache.forget(other.projectId);
        assert.equal((await inFlight).role, 'viewer');
        await Membership.query(database.db).patch({ role: 'collaborator' }).where({ project_id: other.projectId, user_id: other.viewer.id });
        assert.equal((await cache.get(other.workspaceId, other.viewer.id)).role, 'collaborator', 'the lookup in flight was kept');

        // What was kept is forgotten with its project only, and refusals are never kept.
        await Membership.query(database.db).patch({ role: 'viewer' }).where({ project_id: other.projectId, user_id: other.viewer.id });
        assert.equal((await cache.get(other.workspaceId, other.viewer.id)).role, 'collaborator', 'kept for its 10 s');
        cache.forget(other.projectId + 1000);
        assert.equal((await cache.get(other.workspaceId, other.viewer.id)).role, 'collaborator');
        cache.forget(other.projectId);
        assert.equal((await cache.get(other.workspaceId, other.viewer.id)).role, 'viewer');
        await assert.rejects(cache.get(other.workspaceId, other.outsider.id), { message: 'Workspace not found' });
        await Membership.query(database.db).insert({ project_id: other.projectId, user_id: other.outsider.id, role: 'viewer' });
        assert.equal((await cache.get(other.workspaceId, other.outsider.id)).role, 'viewer');
    });
});
