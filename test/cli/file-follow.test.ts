import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { CollabClient, type SharedDocument } from '@collab/sdk';

import { makeTeam, startServer, until, type RealtimeServer, type Team, type User } from '../realtime/helpers.js';
import { CLI, collab, makeHome, start, type Running } from './run-cli.js';

/** `collab file cat --follow`: the file as a live document, printed again on every change. */
describe('collab file cat --follow', { timeout: 120_000 }, () => {
    let t: RealtimeServer;
    let team: Team;
    const homes = new Map<User, string>();
    const running: Running[] = [];
    const editors: SharedDocument[] = [];

    const follow = (user: User, args: string[]) => {
        const child = start(homes.get(user)!, ['file', 'cat', String(team.workspaceId), ...args, '--follow']);
        running.push(child);
        return child;
    };
    const put = async (path: string, content: string) => {
        const res = await t.http('PUT', `/api/projects/workspaces/${team.workspaceId}/files/${path}`, team.owner.access, { content });
        assert.equal(res.statusCode, 200, JSON.stringify(res.result));
        return (res.result as { revision: number }).revision;
    };
    const edit = async (path: string) => {
        const shared = new CollabClient({ baseUrl: `http://127.0.0.1:${t.port}`, token: team.collaborator.access }).docs.open(team.workspaceId, path);
        editors.push(shared);
        await shared.synced;
        return shared;
    };
    const objects = (child: Running) => child.lines().map((line) => JSON.parse(line) as { path: string; revision?: number; content: string });

    before(async () => {
        assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npx tsc -b packages/sdk bin)`);
        t = await startServer();
        team = await makeTeam(t);
        for (const user of [team.owner, team.viewer, team.outsider]) {
            const home = makeHome();
            homes.set(user, home);
            const login = await collab(home, ['login', '--server', `http://127.0.0.1:${t.port}`, '--email', user.email, '--password-stdin'], { input: 'correct horse battery\n' });
            assert.equal(login.code, 0, login.stderr);
        }
    });
    after(async () => {
        running.forEach((child) => child.process.kill('SIGKILL'));
        editors.forEach((shared) => shared.close());
        homes.forEach((home) => rmSync(home, { recursive: true, force: true }));
        await t.stop();
    });

    it('with --json, prints {path, revision, content} once in sync, then {path, content} after each change, until Ctrl-C', async () => {
        const revision = await put('notes/live.md', 'hello');
        const child = follow(team.owner, ['notes/live.md', '--json']);
        await until(() => child.lines().length === 1, 15_000, 'the first line', () => child.stderr());
        assert.deepEqual(objects(child), [{ path: 'notes/live.md', revision, content: 'hello' }]);

        const other = await edit('notes/live.md');
        other.text.insert(5, ', world');
        await until(() => child.lines().length === 2, 10_000, 'the line after the edit', () => child.stdout());
        assert.deepEqual(objects(child)[1], { path: 'notes/live.md', content: 'hello, world' });

        await put('notes/live.md', 'hello, world!');        // a REST write becomes an edit of the document
        await until(() => child.lines().length === 3, 10_000, 'the line after the REST write', () => child.stdout());
        assert.equal(objects(child)[2]!.content, 'hello, world!');

        child.process.kill('SIGINT');
        const run = await child.exited;
        assert.deepEqual([run.code, run.stderr], [0, '']);
    });

    it('prints each version of the text for people, ending every one with a newline', async () => {
        await put('plain.txt', 'one');
        const child = follow(team.viewer, ['plain.txt']);
        await until(() => child.stdout() === 'one\n', 15_000, 'the text', () => child.stderr());
        const other = await edit('plain.txt');
        other.text.insert(3, ' two\n');
        await until(() => child.stdout() === 'one\none two\n', 10_000, 'the second version', () => child.stdout());
        child.process.kill('SIGTERM');
        assert.equal((await child.exited).code, 0);
    });

    it('ends quietly with 0 when the reader of its output leaves (| head -1)', async () => {
        await put('head.txt', 'first');
        const child = follow(team.owner, ['head.txt', '--json']);
        await until(() => child.lines().length === 1, 15_000, 'the first line', () => child.stderr());
        child.process.stdout!.destroy();
        const other = await edit('head.txt');
        other.text.insert(0, 'more ');
        const run = await child.exited;
        assert.deepEqual([run.code, run.stderr], [0, '']);
    });

    it('says in one line that the file was deleted, and exits 1', async () => {
        await put('gone.txt', 'x');
        const child = follow(team.owner, ['gone.txt']);
        await until(() => child.stdout() === 'x\n', 15_000, 'the text', () => child.stderr());
        await t.http('DELETE', `/api/projects/workspaces/${team.workspaceId}/files/gone.txt`, team.owner.access);
        const run = await child.exited;
        assert.deepEqual([run.code, run.stderr], [1, `Cannot read gone.txt in workspace ${team.workspaceId}: the file was deleted.\n`]);
    });

    it('says in one line that access was removed, and exits 1', async () => {
        const guest = await t.user('guest');
        await t.http('POST', `/api/projects/projects/${team.projectId}/members/`, team.owner.access, { user_id: guest.id, role: 'viewer' });
        const home = makeHome();
        homes.set(guest, home);
        assert.equal((await collab(home, ['login', '--server', `http://127.0.0.1:${t.port}`, '--email', guest.email, '--password-stdin'], { input: 'correct horse battery\n' })).code, 0);
        await put('removed.txt', 'x');
        const child = follow(guest, ['removed.txt', '--json']);
        await until(() => child.lines().length === 1, 15_000, 'the first line', () => child.stderr());
        await t.http('DELETE', `/api/projects/projects/${team.projectId}/members/${guest.id}`, team.owner.access);
        const run = await child.exited;
        assert.deepEqual([run.code, run.stderr], [1, `Your access to workspace ${team.workspaceId} was removed.\n`]);
    });

    it('fails with one line and a non-zero exit for a missing file, a workspace out of reach or a bad path', async () => {
        const missing = await collab(homes.get(team.owner)!, ['file', 'cat', String(team.workspaceId), 'nope.txt', '--follow']);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, new RegExp(`^Cannot read nope\\.txt in workspace ${team.workspaceId}: .+\\.\\n$`));
        assert.equal(missing.stdout, '');

        const outsider = await collab(homes.get(team.outsider)!, ['file', 'cat', String(team.workspaceId), 'notes/live.md', '--follow', '--json']);
        assert.equal(outsider.code, 1);
        assert.match(outsider.stderr, /^Cannot read notes\/live\.md in workspace \d+: .+\.\n$/);

        const badPath = await collab(homes.get(team.owner)!, ['file', 'cat', String(team.workspaceId), `${'x'.repeat(300)}.txt`, '--follow']);
        assert.equal(badPath.code, 2);
        assert.match(badPath.stderr, /the path must be at most 255 bytes/);

        const badWorkspace = await collab(homes.get(team.owner)!, ['file', 'cat', 'abc', 'notes/live.md', '--follow']);
        assert.equal(badWorkspace.code, 2);
        assert.match(badWorkspace.stderr, /expected a positive integer id/);
    });
});
