import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { bullJobOptions, jobKeys, JOB_QUEUE_NAME, newJobId, type Config } from '@collab/core';
import { startWorker, type WorkerHandle } from '@collab/worker';
import { Queue } from 'bullmq';

import {
    CgroupHost,
    CgroupsUnavailableError,
    runProgram,
    SandboxStartError,
    type RunResult,
    type RunSpec,
    type SandboxStart
} from '../../packages/worker/src/sandbox/index.js';
import { sandboxIdentity } from '../../packages/worker/src/sandbox/job-dir.js';
import { REDIS_URL, testConfig } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cleanRedis } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const cgroups = CgroupHost.open({ identity: sandboxIdentity() });
after(() => cgroups.close());

/** Both ways a sandbox is made: every test below runs in each (python forks in forkserver mode). */
const STARTS: SandboxStart[] = ['fresh', 'forkserver'];
let start: SandboxStart = 'fresh';

function run(spec: Partial<RunSpec> & Pick<RunSpec, 'language' | 'code'>): Promise<RunResult> {
    return runProgram({ timeoutMs: 20_000, memoryMb: 256, mode: 'bwrap', start, cgroups, ...spec });
}

/** Job groups of this process (other test files' workers share the parent group). */
function groupsOfThisProcess(): string[] {
    return cgroups.jobGroups().filter((name) => name.includes(`.${process.pid}-`));
}

const FORK_8_X_200 = [
    'import os, sys',
    'kids = []',
    'for i in range(8):',
    '    pid = os.fork()',
    '    if pid == 0:',
    '        block = bytearray(200 * 1024 * 1024)',
    '        for at in range(0, len(block), 4096): block[at] = 1',
    '        os._exit(0)',
    '    kids.append(pid)',
    'failed = sum(1 for pid in kids if os.waitpid(pid, 0)[1] != 0)',
    "print('children failed:', failed)"
].join('\n');

for (const mode of STARTS) {
    describe(`per-job cgroups (cgroup v1 memory and pids on this host), ${mode}`, { timeout: 120_000 }, () => {
        before(() => {
            start = mode;
        });

        it('are found at /sys/fs/cgroup with a collab parent group in memory and pids', () => {
            assert.equal(cgroups.version, 1);
            assert.deepEqual(cgroups.parents, ['/sys/fs/cgroup/memory/collab', '/sys/fs/cgroup/pids/collab']);
        });

        it('bound the memory of every process of a job together: 8 children of 200 MiB under memory_mb 256 fail the job', async () => {
            const result = await run({ language: 'python', code: FORK_8_X_200 });
            assert.equal(result.outcome, 'exited');
            // The parent exited 0 itself: the OOM kill in its group makes the job a failure.
            assert.equal(result.exitCode, 137, result.stdout + result.stderr);
            assert.match(result.stdout, /children failed: [1-8]\n/);
            assert.match(result.stderr, /out of memory: the job's processes together reached memory_mb 256/);
            assert.ok(result.peakMemoryBytes !== undefined && result.peakMemoryBytes <= 256 * MiB, `peak ${result.peakMemoryBytes}`);
            assert.ok(result.peakMemoryBytes > 200 * MiB, 'the children were charged to the job');
        });

        it('bound node Buffers: javascript with memory_mb 32 cannot hold 600 MiB, though it runs within 32', async () => {
            const hello = await run({ language: 'javascript', code: 'console.log("hello")', memoryMb: 32 });
            assert.equal(hello.exitCode, 0, hello.stderr);
            assert.equal(hello.stdout, 'hello\n');

            const result = await run({
                language: 'javascript',
                code: 'const held = []; for (let i = 0; i < 600; i++) held.push(Buffer.alloc(1 << 20, 1)); console.log("held", held.length)',
                memoryMb: 32
            });
            assert.equal(result.outcome, 'exited');
            assert.notEqual(result.exitCode, 0);
            assert.doesNotMatch(result.stdout, /held/);
            assert.ok(result.peakMemoryBytes! <= 32 * MiB);
        });

        it('bound the processes of a job: a fork bomb stays within its own job', async () => {
            const bomb = run({
                language: 'python',
                code: [
                    'import os, sys, time',
                    'n = 0',
                    'for _ in range(10000):',
                    '    try:',
                    '        if os.fork() == 0:',
                    '            time.sleep(30); os._exit(0)',
                    '        n += 1',
                    '    except OSError:',
                    '        break',
                    'print("forked", n, flush=True)',
                    'time.sleep(30)'
                ].join('\n'),
                timeoutMs: 10_000
            });
            // The bomb's own group holds all its processes, at its bound.
            let seen: { max: string; current: number } | undefined;
            const deadline = Date.now() + 8000;
            while (!seen && Date.now() < deadline) {
                for (const name of groupsOfThisProcess()) {
                    const dir = path.join(cgroups.parents[1]!, name);
                    const current = Number(await readFile(path.join(dir, 'pids.current'), 'utf8').catch(() => '0'));
                    if (current >= 60) {
                        seen = { max: (await readFile(path.join(dir, 'pids.max'), 'utf8')).trim(), current };
                    }
                }
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
            const beside = await run({ language: 'python', code: 'print("beside")' });
            assert.equal(beside.stdout, 'beside\n');
            const result = await bomb;
            assert.equal(result.outcome, 'timed_out');
            assert.deepEqual(seen && { max: seen.max, within: seen.current <= 64 }, { max: '64', within: true });
            const forked = Number(/forked (\d+)/.exec(result.stdout)?.[1]);
            assert.ok(forked > 0 && forked <= 62, result.stdout + result.stderr);
        });

        it('leave no process behind, even when the program leaves processes running, and no group once closed', async () => {
            const host = CgroupHost.open({ identity: sandboxIdentity() });
            const before = groupsOfThisProcess();
            const results = await Promise.all([
                runProgram({ language: 'bash', code: 'sleep 30 & sleep 30 & echo started', timeoutMs: 20_000, memoryMb: 256, mode: 'bwrap', start, cgroups: host }),
                runProgram({ language: 'python', code: 'import os\nif os.fork() == 0:\n    os.setsid()\n    import time; time.sleep(30)', timeoutMs: 20_000, memoryMb: 256, mode: 'bwrap', start, cgroups: host }),
                runProgram({ language: 'python', code: 'while True: pass', timeoutMs: 300, memoryMb: 256, mode: 'bwrap', start, cgroups: host })
            ]);
            assert.deepEqual(results.map((result) => result.outcome), ['exited', 'exited', 'timed_out']);
            // forked jobs leave their groups for the next (fresh ones are removed: bwrap's last processes are still counted)
            const kept = groupsOfThisProcess().filter((name) => !before.includes(name));
            assert.ok(start === 'fresh' ? kept.length === 0 : kept.length > 0 && kept.length <= 3, `groups kept for reuse: ${kept.join(', ')}`);
            for (const name of kept) {
                for (const parent of cgroups.parents) {
                    assert.equal((await readFile(path.join(parent, name, 'cgroup.procs'), 'utf8')).trim(), '', `${parent}/${name} is empty`);
                }
            }
            await host.close();
            assert.deepEqual(groupsOfThisProcess().filter((name) => kept.includes(name)), []);
        });

        it('are joined before the program starts: every process of the job is in the group', async () => {
            const result = await run({
                language: 'bash',
                code: 'cat /proc/self/cgroup | grep -E "memory|pids"; (cat /proc/self/cgroup | grep memory) & wait'
            });
            assert.equal(result.exitCode, 0, result.stderr);
            // A cgroup namespace: the job's own group is its root.
            assert.equal(result.stdout, '8:pids:/\n4:memory:/\n4:memory:/\n');
        });
    });
}

describe('per-job cgroups reused between forked jobs (cgroup v1)', { timeout: 120_000 }, () => {
    it('start each forked job in a reused group afresh: its own limits, peak and OOM kills, nothing of the job before', async () => {
        const host = CgroupHost.open({ identity: sandboxIdentity() });
        const others = groupsOfThisProcess();
        const hostGroups = () => groupsOfThisProcess().filter((name) => !others.includes(name));
        try {
            const spec = { timeoutMs: 20_000, mode: 'bwrap', start: 'forkserver', cgroups: host } as const;
            const killed = await runProgram({ ...spec, language: 'python', code: `import os\nif os.fork() == 0:\n    os.setsid()\n    import time; time.sleep(30)\n${FORK_8_X_200}`, memoryMb: 256 });
            assert.equal(killed.exitCode, 137, killed.stderr);
            const [group, ...more] = hostGroups();
            assert.deepEqual(more, []);
            const files = (name: string) => cgroups.parents.map((parent) => path.join(parent, group!, name));
            for (const procs of files('cgroup.procs')) {
                assert.equal((await readFile(procs, 'utf8')).trim(), '', 'the process the job left behind was killed');
            }
            assert.equal((await readFile(files('pids.current')[1]!, 'utf8')).trim(), '0', 'and reaped: the next job gets every pid');

            const next = await runProgram({ ...spec, language: 'python', code: 'print("next")', memoryMb: 96 });
            assert.deepEqual(hostGroups(), [group], 'the second job ran in the first one\'s group');
            assert.deepEqual([next.exitCode, next.stdout, next.stderr], [0, 'next\n', '']);
            assert.ok(next.peakMemoryBytes! < 32 * MiB, `peak ${next.peakMemoryBytes}`);
            assert.equal(Number(await readFile(files('memory.limit_in_bytes')[0]!, 'utf8')), 96 * MiB);
            assert.equal(Number(await readFile(files('memory.memsw.limit_in_bytes')[0]!, 'utf8')), 96 * MiB);
            const tooBig = await runProgram({ ...spec, language: 'python', code: 'x = bytearray(150 * 1024 * 1024); print("held")', memoryMb: 96 });
            assert.notEqual(tooBig.exitCode, 0, 'the lowered limit holds in the reused group');
            assert.doesNotMatch(tooBig.stdout, /held/);
            assert.deepEqual(hostGroups(), [group]);
        }
        finally {
            await host.close();
        }
    });
});

describe('a worker on a host with per-job cgroups', { timeout: 60_000 }, () => {
    let config: Config;
    let database: TestDatabase;
    let queue: Queue;
    let worker: WorkerHandle;

    before(async () => {
        config = testConfig({ COLLAB_SANDBOX: 'bwrap' });
        database = await createTestDatabase();
        queue = new Queue(JOB_QUEUE_NAME, { connection: { url: REDIS_URL }, prefix: jobKeys(config.redisPrefix).bullPrefix });
        worker = await startWorker({ config, db: database.db });
    });

    after(async () => {
        await worker.close();
        await queue.close();
        await cleanRedis(config.redisPrefix);
        await database.drop();
    });

    it('runs each job in a group of its own, bounded by the job\'s memory_mb, emptied after it and removed when the worker stops', async () => {
        const [{ id: userId }] = await database.db('users').insert({ email: 'cgroups@example.com', password_hash: 'x' }).returning('id');
        const id = newJobId();
        await database.db('jobs').insert({ id, user_id: userId, language: 'python', code: 'import time\ntime.sleep(3)\nprint("done")', timeout_ms: 20_000, memory_mb: 96 });
        await queue.add('run', { job_id: id }, bullJobOptions(id));

        // The group exists before its first process joins it: wait for the job's processes in it.
        const others = groupsOfThisProcess();
        const memory = await until(async () => {
            const [group] = groupsOfThisProcess().filter((name) => !others.includes(name));
            const dir = group && path.join(cgroups.parents[0]!, group);
            return dir && (await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '')).trim() !== '' && dir;
        }, 15_000, 'the job\'s processes in a cgroup of its own');
        assert.equal(Number(await readFile(path.join(memory, 'memory.limit_in_bytes'), 'utf8')), 96 * MiB);

        const row = await until(async () => {
            const job = await database.db('jobs').where({ id }).first() as { status: string; stdout: string };
            return ['queued', 'running'].includes(job.status) ? undefined : job;
        }, 20_000, 'the job to end');
        assert.deepEqual([row.status, row.stdout], ['succeeded', 'done\n']);
        assert.equal((await readFile(path.join(memory, 'cgroup.procs'), 'utf8')).trim(), '');
        await worker.close();
        assert.ok(!groupsOfThisProcess().includes(path.basename(memory)), 'the worker removed its groups when it stopped');
    });
});

describe('a host without per-job cgroups', { timeout: 30_000 }, () => {
    let empty: string;
    after(async () => {
        await rm(empty, { recursive: true, force: true });
    });

    it('is said to have none', async () => {
        empty = await mkdtemp(path.join(os.tmpdir(), 'collab-no-cgroups-'));
        assert.throws(() => CgroupHost.open({ root: empty }), CgroupsUnavailableError);
        assert.deepEqual(await readdir(empty), []);
    });

    it('stops the worker from starting in production, with one line saying what to enable', async () => {
        const config = { ...testConfig(), nodeEnv: 'production', sandbox: 'bwrap' as const };
        await assert.rejects(startWorker({ config, cgroupRoot: empty }), (error: Error) => {
            assert.ok(error instanceof SandboxStartError);
            assert.equal(
                error.message,
                'per-job cgroups unavailable: mount cgroup v1 memory+pids writable by this user, or run under systemd with Delegate=yes (cgroup v2)'
            );
            return true;
        });
    });
});
