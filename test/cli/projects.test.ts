import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CLI, collab } from './run-cli.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

describe('collab project, member, workspace and file commands', () => {
    let t: TestServer;
    let home: string;
    let viewerHome: string;
    let viewer: TestUser;
    let projectId: number;
    let workspaceId: number;
    const ok = async (args: string[], input?: string, as = home) => {
        const run = await collab(as, args, { input });
        assert.equal(run.stderr, '', `collab ${args.join(' ')}`);
        assert.equal(run.code, 0);
        return run.stdout;
    };
    const json = async <T>(args: string[], input?: string) => JSON.parse(await ok([...args, '--json'], input)) as T;

    before(async () => {
        assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npx tsc -b bin)`);
        t = await startTestServer({ listen: true });
        home = mkdtempSync(join(tmpdir(), 'collab-cli-'));
        viewerHome = mkdtempSync(join(tmpdir(), 'collab-cli-'));
        const owner = await t.user('owner');
        viewer = await t.user('viewer');
        await ok(['login', '--server', t.server.info.uri, '--email', owner.email, '--password-stdin'], 'correct horse battery\n');
        await ok(['login', '--server', t.server.info.uri, '--email', viewer.email, '--password-stdin'], 'correct horse battery\n', viewerHome);
    });
    after(async () => {
        rmSync(home, { recursive: true, force: true });
        rmSync(viewerHome, { recursive: true, force: true });
        await t.stop();
    });

    it('creates, lists, shows and updates projects, for people and as JSON', async () => {
        const created = await json<{ id: number; name: string; role: string }>(['project', 'create', 'Compiler course', '--description', 'week 3']);
        projectId = created.id;
        assert.deepEqual([created.name, created.role], ['Compiler course', 'owner']);

        const human = await ok(['project', 'create', 'Second']);
        assert.match(human, /^Name: +Second$/m);

        const table = (await ok(['project', 'list'])).split('\n');
        assert.match(table[0]!, /^ID +NAME +ROLE +UPDATED$/);
        assert.match(table[1]!, new RegExp(`^${projectId} +Compiler course +owner `));
        assert.equal(table.length, 4);
        assert.deepEqual((await json<Array<{ name: string }>>(['project', 'list'])).map((p) => p.name), ['Compiler course', 'Second']);

        assert.match(await ok(['project', 'show', String(projectId)]), /^Description: +week 3$/m);
        assert.equal((await json<{ description: string }>(['project', 'update', String(projectId), '--description', 'week 4'])).description, 'week 4');
    });

    it('adds a member by email, lists members and changes a role', async () => {
        assert.equal(await ok(['member', 'add', String(projectId), viewer.email, '--role', 'viewer']), `Added ${viewer.email} to project ${projectId} as viewer.\n`);
        const members = await json<Array<{ user: { email: string }; role: string }>>(['member', 'list', String(projectId)]);
        assert.deepEqual(members.map((m) => m.role).sort(), ['owner', 'viewer']);
        assert.match(await ok(['member', 'list', String(projectId)]), new RegExp(`${viewer.email} +viewer`));
    });

    it('creates and shows a workspace', async () => {
        const ws = await json<{ id: number; project: number }>(['workspace', 'create', String(projectId), 'Lexer']);
        workspaceId = ws.id;
        assert.equal(ws.project, projectId);
        assert.match(await ok(['workspace', 'list', String(projectId)]), new RegExp(`^${workspaceId} +Lexer`, 'm'));
        assert.match(await ok(['workspace', 'show', String(workspaceId)]), /^Name: +Lexer$/m);
    });

    it('puts files from --content, --file and stdin, then cats and lists them', async () => {
        const ws = String(workspaceId);
        assert.equal(await ok(['file', 'put', ws, 'notes/a b.md', '--content', '# Notes\n']), 'Wrote notes/a b.md (revision 1).\n');
        const local = join(home, 'main.py');
        writeFileSync(local, 'print("hi")\n');
        assert.deepEqual(await json(['file', 'put', ws, 'src/main.py', '--file', local]), { path: 'src/main.py', revision: 1 });
        assert.deepEqual(await json(['file', 'put', ws, 'src/main.py', '-', '--base-revision', '1'], 'print("stdin")\n'), { path: 'src/main.py', revision: 2 });

        assert.equal(await ok(['file', 'cat', ws, 'src/main.py']), 'print("stdin")\n');
        assert.equal(await ok(['file', 'cat', ws, 'notes/a b.md']), '# Notes\n');
        const file = await json<{ content: string; revision: number }>(['file', 'cat', ws, 'src/main.py']);
        assert.deepEqual([file.content, file.revision], ['print("stdin")\n', 2]);
        assert.match(await ok(['file', 'ls', ws]), /^src\/main\.py +2 +15 /m);

        const stale = await collab(home, ['file', 'put', ws, 'src/main.py', '--content', 'x', '--base-revision', '1']);
        assert.equal(stale.code, 1);
        assert.match(stale.stderr, /^Cannot write src\/main\.py in workspace \d+: .+\.\n$/);
    });

    it('sends an event to a workspace', async () => {
        const sent = await ok(['ws', 'send', String(workspaceId), 'chat.message', '{"text": "hi"}']);
        assert.match(sent, new RegExp(`^Sent chat.message to workspace ${workspaceId} \\(seq \\d+\\)\\.\\n$`));
        const { seq } = await json<{ seq: number }>(['ws', 'send', String(workspaceId), 'cursor.move']);
        assert.ok(seq >= 2);
        const bad = await collab(home, ['ws', 'send', String(workspaceId), 'chat.message', '{not json']);
        assert.deepEqual(bad, { code: 2, stdout: '', stderr: 'The payload is not valid JSON.\n' });
    });

    it('says what was not found, in one line, with exit code 1', async () => {
        const run = await collab(home, ['project', 'show', '999999']);
        assert.deepEqual(run, { code: 1, stdout: '', stderr: 'Cannot show project 999999: project not found.\n' });
        const file = await collab(home, ['file', 'cat', String(workspaceId), 'nope.txt']);
        assert.equal(file.stderr, `Cannot read nope.txt in workspace ${workspaceId}: file not found.\n`);
    });

    it('says what the role refuses', async () => {
        const run = await collab(viewerHome, ['project', 'delete', String(projectId)]);
        assert.deepEqual(run, { code: 1, stdout: '', stderr: `Cannot delete project ${projectId}: your role (viewer) does not allow deleting this project.\n` });
    });

    it('names the invalid field', async () => {
        const run = await collab(home, ['project', 'create', '']);
        assert.equal(run.code, 1);
        assert.match(run.stderr, /^Invalid name: .*name.*\.\n$/);
    });

    it('treats bad arguments as usage errors (exit code 2)', async () => {
        for (const args of [['project', 'show', 'abc'], ['project', 'update', String(projectId)], ['member', 'add', '1', 'a@b.c', '--role', 'king'], ['file', 'put', '1', 'a.txt'], ['file', 'put', '1', 'a.txt', '--content', 'x', '--file', 'y'], ['ws', 'send', '1', 'Bad Name']]) {
            const run = await collab(home, args);
            assert.equal(run.code, 2, `collab ${args.join(' ')}: ${run.stderr}`);
            assert.equal(run.stdout, '');
        }
    });

    it('deletes what it created', async () => {
        assert.equal(await ok(['workspace', 'delete', String(workspaceId)]), `Deleted workspace ${workspaceId}.\n`);
        assert.deepEqual(await json(['project', 'delete', String(projectId)]), { id: projectId, deleted: true });
    });
});
