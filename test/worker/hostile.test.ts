import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { CgroupHost, runProgram, TMP_SIZE_BYTES, type RunResult, type RunSpec, type SandboxStart } from '../../packages/worker/src/sandbox/index.js';
import { JOB_DIR_PREFIX, jobDirCreator, sandboxIdentity } from '../../packages/worker/src/sandbox/job-dir.js';

/** Files of the project on this host, wherever it is checked out. */
const THIS_FILE = fileURLToPath(import.meta.url);
const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

const SECRETS = {
    DATABASE_URL: 'postgres://collab:db-secret-4f1c@127.0.0.1:5432/collab',
    JWT_SECRET: 'jwt-secret-9a7e2d5c0b3f6e8a1d4c7b0e3f6a9d2c',
    COLLAB_WORKER_SECRET: 'worker-secret-51c3'
};
Object.assign(process.env, SECRETS);

// As in the worker: every run in its own cgroup (v1 memory+pids on this host), emptied and reused.
const cgroups = CgroupHost.open({ identity: sandboxIdentity() });
after(() => cgroups.close());

/** Both ways a sandbox is made: every test below runs in each (python forks in forkserver mode). */
const STARTS: SandboxStart[] = ['fresh', 'forkserver'];
let start: SandboxStart = 'fresh';

function run(spec: Partial<RunSpec> & Pick<RunSpec, 'language' | 'code'>): Promise<RunResult> {
    return runProgram({ timeoutMs: 5000, memoryMb: 256, mode: 'bwrap', start, cgroups, ...spec });
}

async function assertNextProgramRuns(): Promise<void> {
    const result = await run({ language: 'python', code: "print('Hello World')" });
    assert.equal(result.stdout, 'Hello World\n');
    assert.equal(result.exitCode, 0);
}

/**
 * The most live (not zombie) processes of the sandbox uid in any one sandbox, that is one PID
 * namespace other than the host's: other test files run sandboxes at the same time.
 */
async function largestSandbox(): Promise<number> {
    const host = await readlink('/proc/self/ns/pid');
    const counts = new Map<string, number>();
    for (const pid of await readdir('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        const ns = await readlink(`/proc/${pid}/ns/pid`).catch(() => host);
        if (/^Uid:\s+65534\s/m.test(status) && !/^State:\s+Z/m.test(status) && ns !== host) {
            counts.set(ns, (counts.get(ns) ?? 0) + 1);
        }
    }
    return Math.max(0, ...counts.values());
}

function assertNoSecret(text: string): void {
    for (const [name, value] of Object.entries(SECRETS)) {
        assert.ok(!text.includes(value), `the program saw ${name}`);
        assert.ok(!text.includes(name), `the program saw the name ${name}`);
    }
}

for (const mode of STARTS) {
    describe(`a hostile program in the sandbox, ${mode}`, { timeout: 50_000 }, () => {
        before(() => {
            start = mode;
        });

        it('sees only PATH, HOME and LANG, and no secret in /proc', async () => {
            const result = await run({
                language: 'python',
                code: [
                    'import os, glob',
                    'print(sorted(os.environ))',
                    "for f in glob.glob('/proc/*/environ'):",
                    '    try: print(f, open(f, "rb").read())',
                    '    except OSError as e: print(f, e)'
                ].join('\n')
            });
            assert.equal(result.exitCode, 0, result.stderr);
            assert.match(result.stdout, /^\['HOME', 'LANG', 'PATH'\]\n/);
            // PID 1 holds nothing of the worker's: bwrap's helper has an empty environment, and the
            // job's own PID 1 of the fork server cannot be read by the program at all
            assert.match(result.stdout, mode === 'fresh' ? /\/proc\/1\/environ b''/ : /\/proc\/1\/environ \[Errno 13\] Permission denied/);
            assertNoSecret(result.stdout + result.stderr);

            const js = await run({ language: 'javascript', code: 'console.log(JSON.stringify(process.env))' });
            assert.deepEqual(Object.keys(JSON.parse(js.stdout) as object).sort(), ['HOME', 'LANG', 'PATH']);
            const sh = await run({ language: 'bash', code: 'env; cat /proc/1/environ /proc/self/environ; set' });
            assertNoSecret(sh.stdout + sh.stderr);
            await assertNextProgramRuns();
        });

        it('cannot reach Redis, PostgreSQL or any outside address', async () => {
            const result = await run({
                language: 'python',
                code: [
                    'import socket, errno',
                    "for host, port in [('127.0.0.1', 6379), ('127.0.0.1', 5432), ('10.255.255.1', 80), ('1.1.1.1', 53)]:",
                    '    s = socket.socket()',
                    '    s.settimeout(3)',
                    '    try:',
                    '        s.connect((host, port)); print(host, port, "CONNECTED")',
                    '    except socket.timeout: print(host, port, "TIMEOUT")',
                    '    except OSError as e: print(host, port, errno.errorcode[e.errno])'
                ].join('\n')
            });
            assert.equal(result.exitCode, 0, result.stderr);
            assert.equal(
                result.stdout,
                '127.0.0.1 6379 ECONNREFUSED\n127.0.0.1 5432 ECONNREFUSED\n10.255.255.1 80 ENETUNREACH\n1.1.1.1 53 ENETUNREACH\n'
            );
            await assertNextProgramRuns();
        });

        it('survives a fork bomb', async () => {
            const classic = await run({ language: 'bash', code: ':(){ :|:& };:', timeoutMs: 1500 });
            assert.ok(['timed_out', 'exited'].includes(classic.outcome));
            // Killed at its timeout, with slack for a loaded machine.
            assert.ok(classic.durationMs < 1500 + 5000, `took ${classic.durationMs} ms`);

            let peak = 0;
            const sampler = setInterval(() => {
                void largestSandbox().then((count) => {
                    peak = Math.max(peak, count);
                });
            }, 100);
            const forever = run({
                language: 'python',
                code: 'import os\nwhile True:\n    try: os.fork()\n    except OSError: pass',
                timeoutMs: 1500
            }).finally(() => clearInterval(sampler));
            // Once the bomb has used up its processes, a program beside it still gets its own.
            const deadline = Date.now() + 1200;
            while ((await largestSandbox()) < 60 && Date.now() < deadline) {
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
            await assertNextProgramRuns();
            assert.equal((await forever).outcome, 'timed_out');
            if (process.getuid?.() === 0) {
                // RLIMIT_NPROC (64) counts the processes of the sandbox's user namespace, its bwrap init included
                assert.ok(peak >= 60 && peak <= 64, `peak of ${peak} processes in the sandbox`);
            }
            await assertNextProgramRuns();
        });

        it('cannot allocate 2 GiB in python or node', async () => {
            const py = await run({ language: 'python', code: 'x = bytearray(2 * 1024 ** 3)\nprint("allocated")' });
            assert.equal(py.outcome, 'exited');
            assert.notEqual(py.exitCode, 0);
            assert.match(py.stderr, /MemoryError/);

            const js = await run({ language: 'javascript', code: 'const b = Buffer.alloc(2 * 1024 ** 3); console.log("allocated", b.length)' });
            assert.equal(js.outcome, 'exited');
            assert.notEqual(js.exitCode, 0);
            assert.doesNotMatch(js.stdout, /allocated/);

            const heap = await run({
                language: 'javascript',
                code: 'const a = []; for (;;) a.push(new Array(1e6).fill(1.5));',
                memoryMb: 128,
                timeoutMs: 10_000
            });
            assert.equal(heap.outcome, 'exited');
            assert.notEqual(heap.exitCode, 0);
            assert.match(heap.stderr, /heap out of memory/);
            await assertNextProgramRuns();
        });

        it('fills at most its private /tmp and cannot write one huge file', async () => {
            const result = await run({
                language: 'python',
                code: [
                    'import errno',
                    'total, chunk = 0, b"x" * (1 << 20)',
                    'try:',
                    '    for i in range(1000):',
                    "        with open(f'/tmp/f{i}', 'wb') as f:",
                    '            for _ in range(8): f.write(chunk); total += len(chunk)',
                    'except OSError as e: print(errno.errorcode[e.errno], total)',
                    // /tmp shares the writable area with the working directory: make room first
                    'import os; [os.remove(f"/tmp/{name}") for name in os.listdir("/tmp")]',
                    'try:',
                    "    with open('/work/big', 'wb') as f:",
                    '        for _ in range(100): f.write(chunk)',
                    'except OSError as e: print(errno.errorcode[e.errno])',
                    'for p in ["/", "/usr/x", "/dev/x"]:',
                    '    try: open(p + "f" if p == "/" else p, "w")',
                    '    except OSError as e: print(p, errno.errorcode[e.errno])'
                ].join('\n')
            });
            assert.equal(result.exitCode, 0, result.stderr);
            const [full, big, ...readOnly] = result.stdout.trim().split('\n');
            const [code, total] = full!.split(' ');
            assert.equal(code, 'ENOSPC');
            assert.ok(Number(total) <= TMP_SIZE_BYTES);
            assert.equal(big, 'EFBIG');
            assert.deepEqual(readOnly, ['/ EROFS', '/usr/x EROFS', '/dev/x EROFS']);
            await assertNextProgramRuns();
        });

        it('writes 10 MB to stdout and the worker keeps 64 KiB', async () => {
            const rss = process.memoryUsage().rss;
            const result = await run({ language: 'python', code: "import sys\nsys.stdout.write('x' * 10_000_000)" });
            assert.equal(result.exitCode, 0);
            assert.equal(result.truncated, true);
            assert.equal(result.stdout.length, 64 * 1024);

            const endless = await run({ language: 'bash', code: 'yes "endless output"', timeoutMs: 1000 });
            assert.equal(endless.outcome, 'timed_out');
            assert.equal(endless.truncated, true);
            assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024, 'worker memory grew with the output');
            await assertNextProgramRuns();
        });

        it('spins or sleeps past the timeout and is killed', async () => {
            const spin = await run({ language: 'python', code: 'while True: pass', timeoutMs: 800 });
            assert.equal(spin.outcome, 'timed_out');
            const nap = await run({ language: 'javascript', code: 'setTimeout(() => {}, 60_000)', timeoutMs: 800 });
            assert.equal(nap.outcome, 'timed_out');
            assert.ok(nap.durationMs < 800 + 4000, `killed ${nap.durationMs} ms after it started, for a timeout of 800 ms`);
            await assertNextProgramRuns();
        });

        describe('symlinks left in its working directory', () => {
            let canary: string;
            before(async () => {
                canary = await mkdtemp(path.join(os.tmpdir(), 'collab-canary-'));
                await writeFile(path.join(canary, 'keep.txt'), 'keep');
            });
            after(async () => {
                await rm(canary, { recursive: true, force: true });
            });

            it('are gone after the run, with their targets untouched and no job directory left', async () => {
                const jobDirs = async () => (await readdir(os.tmpdir())).filter((name) => name.startsWith(`${JOB_DIR_PREFIX}${jobDirCreator()}-`));
                const before = await jobDirs();
                const result = await run({
                    language: 'bash',
                    code: [
                        `ln -s ${canary} canary-dir`,
                        `ln -s ${canary}/keep.txt canary-file`,
                        `ln -s ${THIS_FILE} test-file`,
                        'ln -s /etc/passwd passwd',
                        'ln -s / root',
                        'mkdir sub && ln -s /etc sub/etc',
                        'ls -A'
                    ].join('\n')
                });
                assert.equal(result.exitCode, 0, result.stderr);
                assert.deepEqual(result.stdout.split('\n').filter(Boolean).sort(), ['.tmp', 'canary-dir', 'canary-file', 'main.sh', 'passwd', 'root', 'sub', 'test-file']);
                assert.deepEqual(await jobDirs(), before, 'the job directory is removed');
                const next = await run({ language: 'bash', code: 'ls -A' });
                assert.deepEqual(next.stdout.split('\n').filter(Boolean).sort(), ['.tmp', 'main.sh'], 'the next program starts clean');
                assert.deepEqual(await readdir(canary), ['keep.txt']);
                assert.equal(await readFile(path.join(canary, 'keep.txt'), 'utf8'), 'keep');
                assert.ok((await stat(THIS_FILE)).isFile());
                assert.ok((await stat('/etc/passwd')).isFile());
                await assertNextProgramRuns();
            });
        });

        it('cannot read /etc/shadow or the project files', async () => {
            const result = await run({
                language: 'bash',
                code: `cat /etc/shadow /etc/passwd ${PACKAGE_JSON} ${THIS_FILE} /root/.bashrc; ls / /home /var 2>&1; echo end`
            });
            assert.match(result.stdout, /end\n$/);
            assert.doesNotMatch(result.stdout, /root:|"workspaces"|hostile program/);
            assert.match(result.stderr, /\/etc\/shadow: No such file or directory/);
            assert.ok(result.stderr.includes(`${PACKAGE_JSON}: No such file or directory`), result.stderr);
            assert.ok(result.stderr.includes(`${THIS_FILE}: No such file or directory`), result.stderr);
            const js = await run({
                language: 'javascript',
                code: `require('fs').readFileSync(${JSON.stringify(PACKAGE_JSON)})`
            });
            assert.match(js.stderr, /ENOENT/);
            await assertNextProgramRuns();
        });
    });
}
