import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { EventEnvelope } from '@collab/sdk';
import { startWorker, type WorkerHandle } from '@collab/worker';

import { run } from '../helpers/process.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { CLI, collab, makeHome, start, type Running } from './run-cli.js';

/** The whole CLI against a real server and a real (unsandboxed) worker, as a user would drive it. */
describe('collab end to end', { timeout: 180_000 }, () => {
    let t: TestServer;
    let worker: WorkerHandle;
    let home: string;
    let alice: TestUser;
    let bob: TestUser;
    let projectId: number;
    let workspaceId: number;
    let tail: Running | undefined;

    const ok = async (args: string[], input?: string) => {
        const run = await collab(home, args, { input });
        assert.equal(run.code, 0, `collab ${args.join(' ')}: ${run.stderr}`);
        return run.stdout;
    };
    const json = async <T>(args: string[]) => JSON.parse(await ok([...args, '--json'])) as T;
    const tailed = () => tail!.lines().map((line) => JSON.parse(line) as EventEnvelope);

    before(async () => {
        assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npx tsc -b packages/sdk bin)`);
        t = await startTestServer({ listen: true });
        worker = await startWorker({ config: t.config, db: t.database.db, concurrency: 2 });
        home = makeHome();
        alice = await t.user('alice');
        bob = await t.user('bob');
    });
    after(async () => {
        tail?.process.kill('SIGKILL');
        rmSync(home, { recursive: true, force: true });
        await worker.close();
        await t.stop();
    });

    it('logs in with the password on stdin, creates a project, adds a member and a workspace', async () => {
        assert.equal(await ok(['login', '--server', t.server.info.uri, '--email', alice.email, '--password-stdin'], 'correct horse battery\n'), `Logged in to ${t.server.info.uri} as ${alice.email}.\n`);
        projectId = (await json<{ id: number }>(['project', 'create', 'End to end'])).id;
        const member = await json<{ user: { email: string }; role: string }>(['member', 'add', String(projectId), bob.email, '--role', 'collaborator']);
        assert.deepEqual([member.user.email, member.role], [bob.email, 'collaborator']);
        workspaceId = (await json<{ id: number }>(['workspace', 'create', String(projectId), 'Main'])).id;
    });

    it('tails the workspace: what ws send and file put produced arrives, one envelope per line', async () => {
        tail = start(home, ['ws', 'tail', String(workspaceId), '--json']);
        await until(async () => ((await t.call('GET', `/api/projects/workspaces/${workspaceId}/presence/`, { token: alice.access })).result as unknown[]).length === 1, 15_000, 'the tail to connect', () => tail!.stderr());
        await ok(['ws', 'send', String(workspaceId), 'chat.message', '{"text": "hello"}']);
        await ok(['file', 'put', String(workspaceId), 'hello.py', '--content', 'print("hi")']);
        await until(() => tailed().some((e) => e.event === 'file_change'), 15_000, 'the file_change event', () => tail!.stdout() + tail!.stderr());
        const events = tailed().filter((e) => e.seq !== undefined);
        assert.deepEqual(events.map((e) => e.event), ['chat.message', 'file_change']);
        assert.deepEqual(events[0]!.payload, { text: 'hello' });
        assert.deepEqual(events[1]!.payload, { file: 'hello.py', content: 'print("hi")', revision: 1 });
        assert.equal(events[1]!.seq, events[0]!.seq! + 1);
        assert.equal(events[0]!.user, alice.email);
    });

    it('runs a job with --wait: prints its output, exits 0, and the tail shows the job events', async () => {
        const run = await collab(home, ['job', 'submit', '--wait', '--code', 'print(\'Hello World\')', '--language', 'python', '--workspace', String(workspaceId)]);
        assert.deepEqual(run, { code: 0, stdout: 'Hello World\n', stderr: '' });
        await until(() => tailed().some((e) => e.event === 'job.finished'), 15_000, 'job.finished on the tail');
        const jobs = tailed().filter((e) => e.event.startsWith('job.'));
        assert.deepEqual(jobs.map((e) => e.event), ['job.queued', 'job.started', 'job.finished']);
        assert.deepEqual(jobs[2]!.payload, { job_id: (jobs[0]!.payload as { job_id: string }).job_id, status: 'succeeded', exit_code: 0 });
    });

    it('exits with the program\'s exit code and prints its stderr on stderr', async () => {
        const run = await collab(home, ['job', 'submit', '--wait', '--code', 'import sys; print("out"); sys.stderr.write("bad\\n"); sys.exit(3)', '--language', 'python']);
        assert.deepEqual(run, { code: 3, stdout: 'out\n', stderr: 'bad\n' });
    });

    it('exits 124 with a sentence when the job times out, and job wait prints a finished job again', async () => {
        const run = await collab(home, ['job', 'submit', '--wait', '--timeout', '500', '--code', 'import time; time.sleep(10)', '--language', 'python']);
        assert.equal(run.code, 124);
        assert.match(run.stderr, /^Job job_\S+ timed out.*\.\n$/);
        const queued = await json<{ job_id: string }>(['job', 'submit', '--code', 'print(6 * 7)', '--language', 'python']);
        assert.deepEqual(await collab(home, ['job', 'wait', queued.job_id]), { code: 0, stdout: '42\n', stderr: '' });
        const again = await json<{ status: string; stdout: string }>(['job', 'wait', queued.job_id]);
        assert.deepEqual([again.status, again.stdout], ['succeeded', '42\n']);
    });

    it('shows a spinner on a terminal only, on stderr', async () => {
        const shell = `stty cols 100 rows 30; exec ${[process.execPath, CLI, 'job', 'submit', '--wait', '--code', 'import time; time.sleep(0.5); print(7)', '--language', 'python'].map((arg) => `'${arg.replace(/'/g, '\'\\\'\'')}'`).join(' ')}`;
        const child = run('script', ['-qefc', shell, '/dev/null'], { env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), TERM: 'xterm' } });
        assert.equal(await child.exited, 0, child.stdout());
        assert.match(child.stdout(), /Job job_\S+ (queued|running)/);
        assert.match(child.stdout(), /\r?\n?7\r?\n/);
    });

    it('stops the tail on SIGINT with exit code 0, then logs out', async () => {
        tail!.process.kill('SIGINT');
        const run = await tail!.exited;
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stderr, '');
        assert.equal(await ok(['logout']), `Logged out of ${t.server.info.uri}.\n`);
        const after = await collab(home, ['whoami']);
        assert.equal(after.code, 1);
        assert.match(after.stderr, /not logged in/);
    });
});
