import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';

import { limitsWrapper } from '../../packages/worker/src/sandbox/command.js';
import {
    discoverLanguages,
    getLanguage,
    OUTPUT_CAP_BYTES,
    runProgram,
    SandboxStartError,
    type RunSpec,
    type SandboxMode
} from '../../packages/worker/src/sandbox/index.js';

function run(mode: SandboxMode, spec: Partial<RunSpec> & Pick<RunSpec, 'language' | 'code'>) {
    return runProgram({ timeoutMs: 5000, memoryMb: 256, mode, ...spec });
}

/** Host processes whose command line contains `marker`, the sandbox's included. */
async function processesWith(marker: string): Promise<number> {
    let count = 0;
    for (const pid of await readdir('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (cmdline.split('\0').includes(marker)) count += 1;
    }
    return count;
}

async function eventuallyNoProcessWith(marker: string): Promise<void> {
    for (let i = 0; i < 20 && (await processesWith(marker)) > 0; i += 1) {
        await sleep(50);
    }
    assert.equal(await processesWith(marker), 0, `a process "sleep ${marker}" survived`);
}

/** `{name: "soft hard"}` from the text of /proc/<pid>/limits. */
function parseLimits(text: string): Record<string, string> {
    const limits: Record<string, string> = {};
    for (const line of text.split('\n').slice(1)) {
        const match = /^(.+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
        if (match) limits[match[1]!] = `${match[2]} ${match[3]}`;
    }
    return limits;
}

const EXPECTED_LIMITS = {
    'Max cpu time': '6 6',
    'Max processes': '64 64',
    'Max file size': '16777216 16777216',
    'Max open files': '64 64',
    'Max address space': '268435456 268435456',
    'Max core file size': '0 0'
};

/** Runs fn with os.tmpdir() pointing at dir, where job directories are made. */
async function withTmpdir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
        return await fn();
    }
    finally {
        if (saved === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved;
    }
}

for (const mode of ['bwrap', 'none'] as const) {
    describe(`runProgram() with mode ${mode}`, { timeout: 30_000 }, () => {
        it('runs hello world in python', async () => {
            const result = await run(mode, { language: 'python', code: "print('Hello World')" });
            assert.deepEqual(
                { ...result, durationMs: 0 },
                { exitCode: 0, stdout: 'Hello World\n', stderr: '', truncated: false, durationMs: 0, outcome: 'exited' }
            );
        });

        it('runs hello world in javascript and bash', async () => {
            const js = await run(mode, { language: 'javascript', code: "console.log('Hello World')" });
            assert.equal(js.stdout, 'Hello World\n');
            assert.equal(js.exitCode, 0);
            const sh = await run(mode, { language: 'bash', code: 'echo "Hello World"' });
            assert.equal(sh.stdout, 'Hello World\n');
            assert.equal(sh.exitCode, 0);
        });

        it('returns a non-zero exit as data', async () => {
            const result = await run(mode, {
                language: 'python',
                code: "import sys\nprint('bad', file=sys.stderr)\nsys.exit(3)"
            });
            assert.equal(result.exitCode, 3);
            assert.equal(result.stderr, 'bad\n');
            assert.equal(result.outcome, 'exited');
        });

        it('runs the program under its rlimits, soft and hard', async () => {
            const result = await run(mode, { language: 'python', code: "print(open('/proc/self/limits').read(), end='')" });
            assert.equal(result.exitCode, 0, result.stderr);
            const limits = parseLimits(result.stdout);
            for (const [name, value] of Object.entries(EXPECTED_LIMITS)) {
                assert.equal(limits[name], value, name);
            }
        });

        it('passes stdin and closes it', async () => {
            const code = 'import sys\nprint(sys.stdin.read().upper(), end="")';
            // A generous limit: on a loaded machine the start alone may take seconds, and a stdin never closed would still fail.
            assert.equal((await run(mode, { language: 'python', code, stdin: 'abc\n', timeoutMs: 30_000 })).stdout, 'ABC\n');
            assert.equal((await run(mode, { language: 'bash', code: 'cat; echo done', timeoutMs: 30_000 })).stdout, 'done\n');
        });

        it('kills the program and its grandchildren at the timeout', async () => {
            const marker = `987.${mode.length}${Date.now() % 1000}`;
            const result = await run(mode, {
                language: 'bash',
                code: `sleep ${marker} &\nsleep 30`,
                timeoutMs: 500
            });
            assert.equal(result.outcome, 'timed_out');
            assert.equal(result.exitCode, null);
            // Killed at its timeout (slack for a loaded machine), far from the 30 s it would sleep.
            assert.ok(result.durationMs >= 450 && result.durationMs < 500 + 5000, `took ${result.durationMs} ms`);
            await eventuallyNoProcessWith(marker);
        });

        it('kills what the program left running when it exits', async () => {
            const marker = `977.${mode.length}${Date.now() % 1000}`;
            const result = await run(mode, { language: 'bash', code: `sleep ${marker} &\necho started`, timeoutMs: 30_000 });
            // Ended by its own exit, not by waiting for what it left behind until the timeout.
            assert.equal(result.outcome, 'exited');
            assert.equal(result.stdout, 'started\n');
            await eventuallyNoProcessWith(marker);
        });

        it('cancels on abort', async () => {
            const controller = new AbortController();
            setTimeout(() => controller.abort(), 300);
            const result = await run(mode, { language: 'python', code: 'while True: pass', timeoutMs: 30_000, signal: controller.signal });
            assert.equal(result.outcome, 'cancelled');
            assert.equal(result.exitCode, null);
            assert.ok(result.durationMs < 10_000, `killed ${result.durationMs} ms after it started, aborted at 300 ms, timeout 30 s`);

            const early = await run(mode, { language: 'python', code: 'print(1)', signal: AbortSignal.abort() });
            assert.equal(early.outcome, 'cancelled');
        });

        it('cancels a run aborted while it starts, leaving nothing running', async () => {
            // Aborts land while the job directory is made, around the spawn, and while bwrap sets up.
            const marker = `967.${mode.length}${Date.now() % 1000}`;
            for (let delayMs = 0; delayMs < 12; delayMs += 1) {
                const controller = new AbortController();
                const running = run(mode, { language: 'bash', code: `sleep ${marker}`, timeoutMs: 20_000, signal: controller.signal });
                setTimeout(() => controller.abort(), delayMs);
                const result = await running;
                assert.equal(result.outcome, 'cancelled', `aborted after ${delayMs} ms`);
                assert.ok(result.durationMs < 10_000, `aborted after ${delayMs} ms, took ${result.durationMs} ms (timeout 20 s)`);
            }
            await eventuallyNoProcessWith(marker);
        });

        it('truncates each stream at 64 KiB and streams only what it keeps', async () => {
            const seen = { stdout: 0, stderr: 0 };
            const result = await run(mode, {
                language: 'python',
                code: "import sys\nsys.stdout.write('é' * 100_000)\nsys.stderr.write('e' * 10)",
                onOutput: (stream, chunk) => {
                    seen[stream] += chunk.length;
                }
            });
            assert.equal(result.truncated, true);
            assert.equal(result.exitCode, 0);
            assert.equal(Buffer.byteLength(result.stdout), OUTPUT_CAP_BYTES);
            assert.equal(result.stdout, 'é'.repeat(OUTPUT_CAP_BYTES / 2));
            assert.equal(result.stderr, 'eeeeeeeeee');
            assert.deepEqual(seen, { stdout: OUTPUT_CAP_BYTES / 2, stderr: 10 });
        });

        it('removes the job directory afterwards', async () => {
            // A directory of its own: other test files run jobs at the same time.
            const root = await mkdtemp(path.join(os.tmpdir(), 'collab-root-'));
            try {
                await chmod(root, 0o755);
                let during: string[] = [];
                const result = await withTmpdir(root, () =>
                    run(mode, {
                        language: 'bash',
                        code: 'mkdir -p a/b && echo x > a/b/f && chmod 000 a/b a && echo ready && sleep 0.2',
                        onOutput: () => {
                            void readdir(root).then((dirs) => {
                                during = dirs;
                            });
                        }
                    })
                );
                assert.equal(result.exitCode, 0);
                assert.equal(during.length, 1);
                assert.deepEqual(await readdir(root), []);
            }
            finally {
                await rm(root, { recursive: true, force: true });
            }
        });
    });
}

describe('runProgram() start failures', { timeout: 20_000 }, () => {
    it('throws SandboxStartError when the job directory cannot be created', async () => {
        await withTmpdir('/nonexistent/collab-test', async () => {
            await assert.rejects(run('bwrap', { language: 'python', code: 'print(1)' }), SandboxStartError);
        });
    });

    it('throws SandboxStartError when bwrap cannot set the sandbox up', { skip: process.getuid?.() !== 0 }, async () => {
        // A root-only parent directory: the unprivileged bwrap cannot bind the job directory.
        const privateRoot = await mkdtemp(path.join(os.tmpdir(), 'collab-private-'));
        try {
            await withTmpdir(privateRoot, async () => {
                await assert.rejects(run('bwrap', { language: 'python', code: 'print(1)' }), (error: unknown) => {
                    assert.ok(error instanceof SandboxStartError);
                    assert.match(error.message, /sandbox did not start: bwrap/);
                    return true;
                });
            });
            assert.deepEqual(await readdir(privateRoot), []);
        }
        finally {
            await rm(privateRoot, { recursive: true, force: true });
        }
    });

    it('rejects an unknown language as a RangeError', async () => {
        await assert.rejects(
            runProgram({ language: 'cobol' as 'bash', code: '', timeoutMs: 1000, memoryMb: 64, mode: 'bwrap' }),
            RangeError
        );
    });
});

describe('limitsWrapper()', () => {
    it('sets the same limits with dash ulimit as with prlimit, for every language', { skip: !existsSync('/usr/bin/dash') }, () => {
        for (const language of ['python', 'javascript', 'bash'] as const) {
            const rlimits = getLanguage(language).limits(5000, 300);
            const seen = (['ulimit', 'prlimit'] as const).map((method) => {
                const [file, ...args] = limitsWrapper(rlimits, method);
                const child = spawnSync(file!, [...args, '/bin/cat', '/proc/self/limits'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], encoding: 'utf8' });
                assert.equal(child.status, 0, child.stderr);
                assert.equal(child.output[3], '.', 'the readiness byte');
                return parseLimits(child.stdout);
            });
            assert.deepEqual(seen[0], seen[1], language);
            assert.equal(seen[0]!['Max address space'], `${rlimits.addressSpaceBytes} ${rlimits.addressSpaceBytes}`);
            assert.equal(seen[0]!['Max processes'], `${rlimits.nproc} ${rlimits.nproc}`);
        }
    });

    it('never signals readiness when a limit cannot be set', () => {
        // A hard limit above the current one needs privileges an unprivileged shell lacks.
        const rlimits = { ...getLanguage('python').limits(5000, 256), openFiles: 1 << 30 };
        for (const method of ['ulimit', 'prlimit'] as const) {
            const [file, ...args] = limitsWrapper(rlimits, method);
            const child = spawnSync(file!, [...args, '/bin/echo', 'ran'], {
                stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
                encoding: 'utf8',
                ...(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {})
            });
            assert.notEqual(child.status, 0, method);
            assert.equal(child.stdout, '', method);
            assert.equal(child.output[3], '', method);
        }
    });
});

describe('discoverLanguages()', () => {
    it('lists python, javascript and bash with their versions', async () => {
        const languages = await discoverLanguages();
        assert.deepEqual(
            languages.map((entry) => entry.language),
            ['python', 'javascript', 'bash']
        );
        for (const entry of languages) {
            assert.match(entry.version, /^\d+\.\d+/);
        }
    });
});
