import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CollabClient, type DocumentStatus, type SharedDocument } from '@collab/sdk';
import { createRedis, loadConfig } from '@collab/core';
import WebSocket from 'ws';

import { presenceKeys } from '../../packages/core/src/bus/keys.js';
import { createTestDatabase, onPglite, type TestDatabase } from '../helpers/database.js';
import { Nginx } from '../helpers/nginx.js';
import { cleanRedis } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { makeTeam, type Team } from '../realtime/helpers.js';
import { clusterEnv, startInstance, type Instance } from '../realtime/processes.js';

/** Collaborative documents (`/yjs/{workspace}/{path}`, y-websocket) through deploy/nginx/collab.conf. */
describe('documents through nginx in front of 2 instances', { skip: onPglite && 'needs PostgreSQL', timeout: 120_000 }, () => {
    let database: TestDatabase;
    let env: Record<string, string>;
    let instances: Instance[];
    let nginx: Nginx;
    let team: Team;
    const opened: SharedDocument[] = [];

    before(async () => {
        database = await createTestDatabase();
        env = clusterEnv(database.url!, { TRUSTED_PROXIES: '127.0.0.1' });
        instances = await Promise.all([startInstance(env), startInstance(env)]);
        nginx = await Nginx.start(instances.map((instance) => instance.port));
        team = await makeTeam(instances[0]!);
    });

    after(async () => {
        opened.forEach((shared) => shared.close());
        await nginx?.stop();
        await Promise.all((instances ?? []).map((instance) => instance.kill()));
        await cleanRedis(env.REDIS_PREFIX!);
        await database?.drop();
    });

    /** The instance each user's document socket is counted on (its presence), by user id. */
    const holders = async (): Promise<Map<number, Instance>> => {
        const redis = createRedis(loadConfig(env));
        try {
            const fields = Object.keys(await redis.hgetall(presenceKeys(env.REDIS_PREFIX!).connections(team.workspaceId)));
            return new Map(fields.map((field) => {
                const [member, user] = field.split('|') as [string, string];
                return [Number(user), instances.find((instance) => member.startsWith(`${instance.instance}.`))!];
            }));
        }
        finally {
            redis.disconnect();
        }
    };

    it('balances two editors over the instances; they converge, and survive the SIGKILL of one instance with their text intact', async () => {
        const put = await fetch(`${nginx.url}/api/projects/workspaces/${team.workspaceId}/files/notes/plan.md`, {
            method: 'PUT',
            headers: { authorization: `Bearer ${team.owner.access}`, 'content-type': 'application/json' },
            body: JSON.stringify({ content: 'plan' })
        });
        assert.equal(put.status, 200);

        const statuses: DocumentStatus[][] = [[], []];
        const open = (user: Team['owner'], n: number) => {
            const client = new CollabClient({ baseUrl: nginx.url, token: user.access, refreshToken: user.refresh, WebSocket });
            const shared = client.docs.open(team.workspaceId, 'notes/plan.md', { onStatus: (status) => statuses[n]!.push(status) });
            opened.push(shared);
            return shared;
        };

        // nginx's least_conn puts the second socket on the instance without one.
        const ada = open(team.owner, 0);
        await ada.synced;
        const grace = open(team.collaborator, 1);
        await grace.synced;
        const where = await until(async () => {
            const found = await holders();
            return found.size === 2 && found;
        }, 10_000, 'both editors in presence');
        const adaOn = where.get(team.owner.id)!;
        const graceOn = where.get(team.collaborator.id)!;
        assert.notEqual(adaOn, graceOn, 'the two editors are on different instances');

        ada.text.insert(0, 'A1 ');
        grace.text.insert(grace.text.length, ' G1');
        const same = () => ada.text.toJSON() === grace.text.toJSON();
        await until(() => same() && ada.text.length === 'A1 plan G1'.length, 10_000, 'both edits on both sides', () => `${ada.text.toJSON()} | ${grace.text.toJSON()}`);
        assert.equal(ada.text.toJSON(), 'A1 plan G1');

        // SIGKILL Ada's instance: her provider reconnects through nginx to the other one.
        const closesBefore = statuses[0]!.length;
        await adaOn.kill();
        await until(() => statuses[0]!.slice(closesBefore).some((status) => status.state === 'disconnected'), 10_000, 'Ada to see the drop');
        grace.text.insert(grace.text.length, ' G2');                  // typed while Ada is away
        await until(() => ada.connected && statuses[0]!.slice(closesBefore).some((status) => status.state === 'synced'), 30_000, 'Ada back and in sync', () => JSON.stringify(statuses[0]!.slice(closesBefore)));
        assert.equal((await holders()).get(team.owner.id), graceOn, 'Ada is back on the surviving instance');

        ada.text.insert(0, 'A2 ');
        await until(() => same() && ada.text.length === 'A2 A1 plan G1 G2'.length, 10_000, 'the edits from both sides of the kill on both sides', () => `${ada.text.toJSON()} | ${grace.text.toJSON()}`);
        assert.equal(ada.text.toJSON(), 'A2 A1 plan G1 G2');
        assert.ok(grace.connected, 'Grace, on the surviving instance, stayed connected');
    });
});
