import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { socketCounts } from '../../packages/server/src/realtime/census.js';
import { testConfig } from '../helpers/config.js';
import { type TestDatabase } from '../helpers/database.js';
import { cleanRedis } from '../helpers/server.js';
import { makeTeam, nesConnection, nesSubscribe, plainClient, startServer, startTwoInstances, until, type NesClientType, type PlainClient, type RealtimeServer, type Team, type TwoInstances } from './helpers.js';

describe('control messages across two in-process instances', () => {
    let database: TestDatabase;
    let a: RealtimeServer;
    let b: RealtimeServer;
    let team: Team;
    let instances: TwoInstances;
    const plains: PlainClient[] = [];
    const nes: NesClientType[] = [];
    const nesOn = async (port: number, token: string) => {
        const connection = await nesConnection(port, token);
        nes.push(connection.client);
        return connection;
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

    it('closeUserSockets() closes a user\'s sockets of both transports on every instance with 4401', async () => {
        const target = plainClient(b.port, team.workspaceId, team.collaborator.access);
        const bystander = plainClient(b.port, team.workspaceId, team.viewer.access);
        plains.push(target, bystander);
        const { client, closed } = await nesOn(b.port, team.collaborator.access);
        await nesSubscribe(client, `/workspaces/${team.workspaceId}`);
        await Promise.all([target.opened, bystander.opened]);

        await a.server.plugins['collab-realtime'].control.closeUserSockets(team.collaborator.id, 'account deactivated');
        assert.deepEqual(await target.closed, { code: 4401, reason: 'account deactivated' });
        assert.deepEqual(await closed, { code: 4401, reason: 'account deactivated' });
        // The bystander still gets what is sent after the close went out.
        await a.http('POST', `/api/projects/workspaces/${team.workspaceId}/events/`, team.owner.access, { event: 'after', payload: {} });
        await bystander.next((f) => f.event === 'after');
        assert.equal(bystander.ws.readyState, bystander.ws.OPEN);
    });

    it('a project-wide membership announcement revokes subscriptions to a deleted workspace', async () => {
        const created = await a.http('POST', `/api/projects/projects/${team.projectId}/workspaces/`, team.owner.access, { name: 'doomed' });
        const workspaceId = (created.result as { id: number }).id;
        const socket = plainClient(b.port, workspaceId, team.viewer.access);
        plains.push(socket);
        const { client } = await nesOn(b.port, team.viewer.access);
        const feed = await nesSubscribe(client, `/workspaces/${workspaceId}`);
        await socket.opened;

        assert.equal((await a.http('DELETE', `/api/projects/workspaces/${workspaceId}/`, team.owner.access)).statusCode, 204);
        await a.server.plugins['collab-realtime'].control.announceMembershipChange(team.projectId);
        assert.equal((await socket.closed).code, 4403);
        await until(() => feed.flags.some((f) => f.revoked), 2000, 'nes revoked');
        const revoked = feed.messages.at(-1)!;
        assert.equal(revoked.event, 'revoked');
        assert.equal(revoked.payload.code, 403);
    });

    it('socketCounts() reports the open sockets of every live instance', async () => {
        const sockets = [plainClient(b.port, team.workspaceId, team.owner.access), plainClient(b.port, team.workspaceId, team.viewer.access)];
        plains.push(...sockets);
        await Promise.all(sockets.map((s) => s.opened));
        const expected = b.server.plugins['collab-realtime'].sockets();
        await until(async () => (await socketCounts(a.server))[b.server.app.instanceId] === expected.nes + expected.ws, 8000, 'census');
        const counts = await socketCounts(b.server);
        assert.deepEqual(Object.keys(counts).sort(), [a.server.app.instanceId, b.server.app.instanceId].sort());
    });

    it('closes every socket with 1012 (reconnect) when the server stops', async () => {
        const config = testConfig();
        const c = await startServer({ config, database });
        const extra = await makeTeam(c);
        const socket = plainClient(c.port, extra.workspaceId, extra.owner.access);
        await socket.opened;
        const { closed } = await nesOn(c.port, extra.viewer.access);
        await c.stop();
        await cleanRedis(config.redisPrefix);
        assert.equal((await socket.closed).code, 1012);
        assert.equal((await closed).code, 1012);
    });
});
