import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { testConfig } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { RedisServer } from '../helpers/redis-server.js';
import { makeTeam, sleep, startServer, until, type RealtimeServer, type Team } from '../realtime/helpers.js';
import { openEditor, type Editor } from './helpers.js';

describe('documents when Redis goes away and comes back', () => {
    let redis: RedisServer;
    let database: TestDatabase;
    let a: RealtimeServer;
    let b: RealtimeServer;
    let team: Team;
    const editors: Editor[] = [];

    before(async () => {
        redis = await RedisServer.reserve();
        await redis.start();
        database = await createTestDatabase();
        const config = testConfig({ REDIS_URL: redis.url });
        [a, b] = await Promise.all([startServer({ config, database }), startServer({ config, database })]);
        team = await makeTeam(a);
    });
    after(async () => {
        editors.forEach((editor) => editor.destroy());
        await redis.start();
        await Promise.all([a.stop(), b.stop()]);
        await redis.stop();
        await database.drop();
    });

    it('keeps editing on each instance meanwhile and catches up by state vector once Redis is back', async () => {
        const one = openEditor(a.port, team.workspaceId, 'blip.txt', team.owner.access);
        const two = openEditor(b.port, team.workspaceId, 'blip.txt', team.collaborator.access);
        const local = openEditor(a.port, team.workspaceId, 'blip.txt', team.owner.access);
        editors.push(one, two, local);
        await Promise.all([one.synced(), two.synced(), local.synced()]);
        one.text.insert(0, 'before ');
        await until(() => two.text.toJSON() === 'before ', 5000, 'the edit before the outage');

        await redis.stop();
        one.text.insert(one.text.length, 'during-a ');
        two.text.insert(0, 'during-b ');
        // Editors on the same instance still see each other; the other instance cannot yet.
        await until(() => local.text.toJSON().includes('during-a'), 5000, 'the edit on the same instance');
        await sleep(300);
        assert.ok(!two.text.toJSON().includes('during-a'));

        await redis.start();
        await until(() => two.text.toJSON() === one.text.toJSON() && one.text.toJSON().includes('during-a') && one.text.toJSON().includes('during-b'), 15_000, 'both instances to catch up');
    });
});
