import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

import { buildInvocation, findBwrap } from '../../packages/worker/src/sandbox/command.js';
import { createJobDir, removeJobDir, sandboxIdentity } from '../../packages/worker/src/sandbox/job-dir.js';
import type { LaunchedProcess } from '../../packages/worker/src/sandbox/launch.js';
import { Spawner } from '../../packages/worker/src/sandbox/spawner.js';
import {
    getLanguage,
    runProgram,
    SandboxStartError,
    spawnDirectly,
    type Launcher,
    type RunSpec
} from '../../packages/worker/src/sandbox/index.js';

const launchers: Array<[string, () => Launcher]> = [
    ['the spawner', () => new Spawner(sandboxIdentity()).launch],
    ["node's spawn", () => spawnDirectly]
];

/** Fields of /proc/<pid>/status, e.g. `Uid`, `PPid`. */
async function status(pid: number): Promise<Record<string, string>> {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    return Object.fromEntries(text.split('\n').map((line) => line.split(/:\s+/, 2) as [string, string]));
}

for (const [name, make] of launchers) {
    describe(`runProgram() through ${name}`, { timeout: 30_000 }, () => {
        const launcher = make();
        const run = (spec: Partial<RunSpec> & Pick<RunSpec, 'language' | 'code'>) =>
            runProgram({ timeoutMs: 5000, memoryMb: 256, mode: 'bwrap', launcher, ...spec });

        it('passes stdin, returns stdout, stderr and the exit code', async () => {
            const result = await run({
                language: 'python',
                code: 'import sys\nprint(sys.stdin.read().upper(), end="")\nprint("e", file=sys.stderr)\nsys.exit(4)',
                stdin: 'abc\n'
            });
            assert.deepEqual({ ...result, durationMs: 0 }, { exitCode: 4, stdout: 'ABC\n', stderr: 'e\n', truncated: false, durationMs: 0, outcome: 'exited' });
        });

        it('gives the program an environment of PATH, HOME and LANG', async () => {
            const result = await run({ language: 'python', code: 'import os\nprint(sorted(os.environ))' });
            assert.equal(result.stdout, "['HOME', 'LANG', 'PATH']\n");
        });

        it('reports a death by signal as 128 + the signal, and a cut output as truncated', async () => {
            const killed = await run({ language: 'bash', code: 'kill -9 $$' });
            assert.equal(killed.exitCode, 137);
            const big = await run({ language: 'bash', code: 'head -c 200000 /dev/zero | tr "\\0" x' });
            assert.equal(big.stdout.length, 64 * 1024);
            assert.equal(big.truncated, true);
        });

        it('passes 64 KiB of stdin to a program that reads it late', async () => {
            const stdin = 'y'.repeat(64 * 1024);
            const result = await run({ language: 'bash', code: 'sleep 0.3; wc -c', stdin });
            assert.equal(result.stdout.trim(), String(stdin.length));
        });
    });
}

describe('Spawner', { timeout: 30_000 }, () => {
    it('gives the program only fds 0, 1 and 2, whatever the worker inherited', async () => {
        // node's spawn passes on every inherited fd without close-on-exec; the spawner closes them.
        const result = await runProgram({
            language: 'python',
            code: "import os\nprint(sorted(os.listdir('/proc/self/fd')))",
            timeoutMs: 5000,
            memoryMb: 256,
            mode: 'bwrap',
            launcher: new Spawner(sandboxIdentity()).launch
        });
        // the fourth is the directory listdir reads
        assert.equal(result.stdout, "['0', '1', '2', '3']\n");
    });

    const bwrap = findBwrap()!;

    async function launchSleep(spawner: Spawner): Promise<{ launched: LaunchedProcess; pid: number; dir: string }> {
        const dir = await createJobDir('main.sh', 'sleep 30');
        const invocation = buildInvocation('bwrap', bwrap, dir, getLanguage('bash'), getLanguage('bash').limits(30_000, 64), 64);
        const launched = spawner.launch({ invocation, stdin: '', identity: sandboxIdentity(), capBytes: 1024 });
        // Up to 'ready' (the sandbox is set up): bwrap killed before it has armed --die-with-parent would leave the sleep running.
        const [pid] = await Promise.all([
            new Promise<number>((resolve, reject) => {
                launched.once('spawn', resolve);
                launched.once('error', reject);
            }),
            new Promise<void>((resolve) => launched.once('ready', () => resolve()))
        ]);
        return { launched, pid, dir };
    }

    it('runs as the sandbox user when the worker is root, and is the parent of the sandbox', { skip: process.getuid?.() !== 0 }, async () => {
        const spawner = new Spawner(sandboxIdentity());
        const { launched, pid, dir } = await launchSleep(spawner);
        try {
            const parent = Number((await status(pid)).PPid);
            assert.match((await status(parent)).Uid!, /^65534\s/);
            assert.match(await readFile(`/proc/${parent}/cmdline`, 'utf8'), /^\/usr\/bin\/python3\0/);
            assert.equal(await readFile(`/proc/${parent}/environ`, 'utf8'), '');
        }
        finally {
            process.kill(-pid, 'SIGKILL');
            await new Promise((resolve) => launched.once('close', resolve));
            await removeJobDir(dir);
        }
    });

    it('fails the runs of a spawner that dies with SandboxStartError, kills their sandboxes, and a new one works', async () => {
        const spawner = new Spawner(sandboxIdentity());
        const { launched, pid, dir } = await launchSleep(spawner);
        const parent = Number((await status(pid)).PPid);
        const failed = new Promise<Error>((resolve) => launched.once('error', resolve));
        process.kill(parent, 'SIGKILL');
        assert.ok((await failed) instanceof SandboxStartError);
        assert.equal(spawner.alive, false);
        for (let i = 0; i < 40 && spawnSync('kill', ['-0', String(pid)]).status === 0; i += 1) {
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.notEqual(spawnSync('kill', ['-0', String(pid)]).status, 0, 'the sandbox outlived its spawner');
        await removeJobDir(dir);

        const again = await runProgram({ language: 'python', code: 'print(2)', timeoutMs: 5000, memoryMb: 256, mode: 'bwrap', launcher: new Spawner(sandboxIdentity()).launch });
        assert.equal(again.stdout, '2\n');
    });

    it('does not keep the worker process alive once its runs are done', async () => {
        const script = fileURLToPath(new URL('../../packages/worker/src/sandbox/index.ts', import.meta.url));
        const code = `const { runProgram } = await import(${JSON.stringify(script)});
          const r = await runProgram({ language: 'python', code: 'print(3)', timeoutMs: 5000, memoryMb: 256, mode: 'bwrap' });
          process.stdout.write(r.stdout);`;
        const child = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
        assert.equal(child.status, 0, child.stderr);
        assert.equal(child.stdout, '3\n');
    });
});
