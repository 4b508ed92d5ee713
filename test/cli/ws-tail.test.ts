import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort } from '../helpers/process.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { CLI, collab, makeHome, start, type Running } from './run-cli.js';

/** `collab ws tail` across a restart of the server it is connected to. */
describe('collab ws tail', { timeout: 120_000 }, () => {
    let database: TestDatabase;
    let env: Record<string, string>;
    let a: TestServer | undefined;
    let b: TestServer;
    let home: string;
    let user: TestUser;
    let workspaceId: number;
    let tail: Running | undefined;

    const send = async (t: TestServer, text: string) => {
        const res = await t.call('POST', `/api/projects/workspaces/${workspaceId}/events/`, { token: user.access, payload: { event: 'chat.message', payload: { text } } });
        assert.equal(res.statusCode, 202, res.payload);
        return (res.result as { seq: number }).seq;
    };
    const printed = () => tail!.lines().map((line) => {
        const match = /^#(\d+|-) (\S+) (\S+) (.*)$/.exec(line);
        assert.ok(match, `not an event line: ${line}`);
        return { seq: match[1] === '-' ? undefined : Number(match[1]), event: match[2]!, user: match[3]!, payload: JSON.parse(match[4]!) as { text?: string } };
    });
    const seqs = () => printed().flatMap((e) => (e.seq === undefined ? [] : [e.seq]));

    before(async () => {
        assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npx tsc -b packages/sdk bin)`);
        database = await createTestDatabase();
        env = { PORT: String(await freePort()), REDIS_PREFIX: `collab-test-${randomUUID().slice(0, 8)}:`, JWT_SECRET: randomBytes(32).toString('hex') };
        a = await startTestServer({ listen: true, database, env });
        b = await startTestServer({ listen: true, database, env: { ...env, PORT: '0' } });
        user = await a.user('tailer');
        const project = await a.call('POST', '/api/projects/projects/', { token: user.access, payload: { name: 'Restart' } });
        const workspace = await a.call('POST', `/api/projects/projects/${(project.result as { id: number }).id}/workspaces/`, { token: user.access, payload: { name: 'W' } });
        workspaceId = (workspace.result as { id: number }).id;
        home = makeHome();
        const login = await collab(home, ['login', '--server', a.server.info.uri, '--email', user.email, '--password-stdin'], { input: 'correct horse battery\n' });
        assert.equal(login.code, 0, login.stderr);
    });
    after(async () => {
        tail?.process.kill('SIGKILL');
        rmSync(home, { recursive: true, force: true });
        await a?.stop();
        await b.stop();
        await database.drop();
    });

    it('reconnects after a restart, says where it resumes, and prints the missed events once', async () => {
        tail = start(home, ['ws', 'tail', String(workspaceId)]);
        await until(() => printed().some((e) => e.event === 'presence.join'), 15_000, 'the tail to connect', () => tail!.stderr());
        const before = [await send(a!, 'one'), await send(a!, 'two')];
        await until(() => seqs().length === 2, 10_000, 'the first events');
        assert.deepEqual(printed().filter((e) => e.seq).map((e) => [e.event, e.user, e.payload.text]), [['chat.message', user.email, 'one'], ['chat.message', user.email, 'two']]);

        await a!.server.stop({ timeout: 2_000 });           // the socket closes with 1012; Redis keeps the sequence
        await until(() => /Connection lost \(code 1012/.test(tail!.stderr()), 10_000, 'the disconnection notice', () => tail!.stderr());
        const missed = [await send(b, 'three'), await send(b, 'four')];
        a = await startTestServer({ listen: true, database, env });
        await until(() => seqs().length >= 4, 30_000, 'the missed events', () => tail!.stdout() + tail!.stderr());
        assert.match(tail!.stderr(), new RegExp(`Reconnected, resuming after #${before[1]}\\.`));
        const later = await send(a, 'five');
        await until(() => seqs().length >= 5, 10_000, 'a live event after the restart');
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(seqs(), [...before, ...missed, later]);
        assert.deepEqual(printed().filter((e) => e.seq).map((e) => e.payload.text), ['one', 'two', 'three', 'four', 'five']);

        tail.process.kill('SIGINT');
        const run = await tail.exited;
        assert.equal(run.code, 0, run.stderr);
    });

    it('ends with a clear message and exit code 1 when access is removed', async () => {
        const guest = await a!.user('guest');
        const projectId = ((await a!.call('GET', `/api/projects/workspaces/${workspaceId}/`, { token: user.access })).result as { project: number }).project;
        await a!.call('POST', `/api/projects/projects/${projectId}/members/`, { token: user.access, payload: { user_id: guest.id, role: 'viewer' } });
        const guestHome = makeHome();
        try {
            const login = await collab(guestHome, ['login', '--server', b.server.info.uri, '--email', guest.email, '--password-stdin'], { input: 'correct horse battery\n' });
            assert.equal(login.code, 0, login.stderr);
            const guestTail = start(guestHome, ['ws', 'tail', String(workspaceId), '--json']);
            await until(() => guestTail.stdout().includes('presence.join'), 15_000, 'the guest tail to connect', () => guestTail.stderr());
            await a!.call('DELETE', `/api/projects/projects/${projectId}/members/${guest.id}/`, { token: user.access });
            const run = await guestTail.exited;
            assert.equal(run.code, 1);
            assert.equal(run.stderr, `Your access to workspace ${workspaceId} was removed.\n`);
        }
        finally {
            rmSync(guestHome, { recursive: true, force: true });
        }
    });

    it('ends quietly with 0 when the reader of its output leaves (| head -1)', async () => {
        const headTail = start(home, ['ws', 'tail', String(workspaceId), '--json']);
        await until(() => headTail.lines().length >= 1, 15_000, 'the first line', () => headTail.stderr());
        headTail.process.stdout!.destroy();
        await send(a!, 'nobody reads this');
        const run = await headTail.exited;
        assert.deepEqual([run.code, run.stderr], [0, '']);
    });

    it('says which workspace it cannot follow', async () => {
        const run = await collab(home, ['ws', 'tail', '999999']);
        assert.deepEqual([run.code, run.stdout], [1, '']);
        assert.match(run.stderr, /^Cannot follow workspace 999999: .*not found.*\.\n$/i);
    });
});
