import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createTestDatabase, onPglite, type TestDatabase } from '../helpers/database.js';
import { cleanRedis } from '../helpers/server.js';
import { makeTeam, sleep, until, type Team } from '../realtime/helpers.js';
import { clusterEnv, startInstance, type Instance } from '../realtime/processes.js';
import { openEditor, type Editor } from './helpers.js';

// Instances are separate processes sharing one PostgreSQL database: not possible on the in-memory embedded one.
describe('documents survive SIGKILL of every instance', { skip: onPglite }, () => {
    let database: TestDatabase;
    let env: Record<string, string>;
    const instances: Instance[] = [];
    const editors: Editor[] = [];
    let team: Team;
    const start = async () => {
        const instance = await startInstance(env);
        instances.push(instance);
        return instance;
    };

    const open = (instance: Instance, path: string, token: string) => {
        const editor = openEditor(instance.port, team.workspaceId, path, token);
        editors.push(editor);
        return editor;
    };

    before(async () => {
        database = await createTestDatabase();
        env = clusterEnv(database.url!);
    });
    after(async () => {
        editors.forEach((editor) => editor.destroy());
        await Promise.all(instances.map((instance) => instance.kill()));
        await cleanRedis(env.REDIS_PREFIX!);
        await database.drop();
    });

    it('two editors on two instances type at once, see each other\'s text and cursor; the file follows; after SIGKILL of both, a new instance has it all', async () => {
        const [a, b] = await Promise.all([start(), start()]);
        team = await makeTeam(a);
        const files = `/api/projects/workspaces/${team.workspaceId}/files/`;
        await a.http('PUT', `${files}story.md`, team.owner.access, { content: '# Story\n' });
        const before = (await a.http('GET', `${files}story.md`, team.owner.access)).result as { revision: number };

        const one = open(a, 'story.md', team.owner.access);
        const two = open(b, 'story.md', team.collaborator.access);
        await Promise.all([one.synced(), two.synced()]);
        one.provider.awareness.setLocalStateField('user', { name: 'Ada' });
        two.provider.awareness.setLocalStateField('user', { name: 'Bob' });
        for (let i = 0; i < 30; i++) {
            one.text.insert(one.text.length, `ada${i} `);
            two.text.insert(8, `bob${i} `);
            await sleep(5);
        }

        await until(() => one.text.toJSON() === two.text.toJSON() && /ada29/.test(one.text.toJSON()) && /bob29/.test(one.text.toJSON()), 10_000, 'the same text in both editors');
        const names = (editor: Editor) => [...editor.provider.awareness.getStates().values()].map((state) => (state.user as { name?: string } | undefined)?.name);
        await until(() => names(one).includes('Bob') && names(two).includes('Ada'), 10_000, 'each other\'s cursor');

        const file = await until(async () => {
            const current = (await b.http('GET', `${files}story.md`, team.collaborator.access)).result as { content: string; revision: number };
            return current.content === one.text.toJSON() && current;
        }, 5000, 'the file to hold the text');
        assert.equal(file.revision, before.revision + 1);

        // Typing goes on while both instances are killed: whatever the other editor received must survive.
        let typing = true;
        const typist = (async () => {
            for (let i = 0; typing; i++) {
                one.text.insert(one.text.length, `late${i} `);
                await sleep(2);
            }
        })();
        await until(() => /late50 /.test(two.text.toJSON()), 10_000, 'late edits to arrive');
        await Promise.all([a.kill(), b.kill()]);
        typing = false;
        await typist;
        const received = two.text.toJSON();
        one.destroy();
        two.destroy();

        const c = await start();
        const reopened = open(c, 'story.md', team.owner.access);
        await reopened.synced();
        const text = reopened.text.toJSON();
        for (const marker of received.match(/\S+ /g)!) {
            assert.ok(text.includes(marker), `lost ${marker}`);
        }

        assert.ok(text.startsWith('# Story\n'));
    });

    it('removes the cursor of an editor whose instance died from the others within 30 s', async () => {
        const [a, b] = await Promise.all([start(), start()]);
        const doomed = open(a, 'cursors.md', team.owner.access);
        const watcher = open(b, 'cursors.md', team.collaborator.access);
        await Promise.all([doomed.synced(), watcher.synced()]);
        doomed.provider.awareness.setLocalStateField('user', { name: 'Doomed' });
        const present = () => [...watcher.provider.awareness.getStates().values()].some((state) => (state.user as { name?: string } | undefined)?.name === 'Doomed');
        await until(present, 10_000, 'the cursor to show on the other instance');
        await a.kill();
        doomed.provider.shouldConnect = false;
        const died = Date.now();
        await until(() => !present(), 35_000, 'the cursor to go');
        assert.ok(Date.now() - died < 30_000, `gone after ${Date.now() - died} ms`);
    });
});
