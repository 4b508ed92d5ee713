import assert from 'node:assert/strict';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { before, describe, it } from 'node:test';

import { runProgram, type RunResult, type RunSpec, type SandboxStart } from '../../packages/worker/src/sandbox/index.js';

const MiB = 1024 * 1024;

/** Both ways a sandbox is made: every test below runs in each (python forks in forkserver mode). */
const STARTS: SandboxStart[] = ['fresh', 'forkserver'];
let start: SandboxStart = 'fresh';

function run(spec: Partial<RunSpec> & Pick<RunSpec, 'language' | 'code'>): Promise<RunResult> {
    return runProgram({ timeoutMs: 20_000, memoryMb: 512, mode: 'bwrap', start, diskMb: 64, ...spec });
}

async function hostFreeBytes(): Promise<number> {
    const stats = await statfs(os.tmpdir());
    return stats.bavail * stats.bsize;
}

const WRITE_FILES = (dir: string) => [
    'import errno, os, sys',
    'written = 0',
    'try:',
    '    for i in range(40):',
    `        with open(os.path.join("${dir}", f"f{i}"), "wb") as f:`,
    '            f.write(b"x" * (16 << 20))',
    '        written += 1',
    'except OSError as e:',
    '    print("error", e.errno, errno.errorcode[e.errno], "after", written, "files")',
    'print("done")'
].join('\n');

for (const mode of STARTS) {
    describe(`what a job can write (SANDBOX_DISK_MB), ${mode}`, { timeout: 60_000 }, () => {
        before(() => {
            start = mode;
        });

        it('is bounded: 40 files of 16 MiB end in ENOSPC inside the program, which exits as it chooses', async () => {
            const free = await hostFreeBytes();
            const result = await run({ language: 'python', code: WRITE_FILES('.') });
            assert.equal(result.outcome, 'exited');
            assert.equal(result.exitCode, 0, result.stderr);
            // 4 × 16 MiB fill the 64 MiB exactly; the fifth file does not fit
            assert.match(result.stdout, /^error 28 ENOSPC after [0-4] files\ndone\n$/);
            assert.ok(free - (await hostFreeBytes()) < 64 * MiB, 'the host temp dir grew past the cap');

            const failing = await run({ language: 'python', code: `${WRITE_FILES('/tmp')}\nsys.exit(3)` });
            assert.equal(failing.exitCode, 3);
            assert.match(failing.stdout, /ENOSPC/);
        });

        it('counts the working directory and /tmp together: 40 MiB in each does not fit in 64', async () => {
            const result = await run({
                language: 'python',
                code: [
                    'import errno',
                    // 40 MiB as 4 files of 10 (RLIMIT_FSIZE caps one file at 16)
                    'for path in ("/work/a", "/tmp/b"):',
                    '    try:',
                    '        for i in range(4):',
                    '            with open(f"{path}{i}", "wb") as f: f.write(b"x" * (10 << 20))',
                    '        print(path, "ok")',
                    '    except OSError as e:',
                    '        print(path, errno.errorcode[e.errno])'
                ].join('\n')
            });
            assert.equal(result.exitCode, 0, result.stderr);
            assert.equal(result.stdout, '/work/a ok\n/tmp/b ENOSPC\n');
        });

        it('gives each job an empty /dev/shm for multiprocessing (Pool, Queue, shared memory), bounded as well', async () => {
            const result = await run({
                language: 'python',
                code: [
                    'import multiprocessing as mp, os',
                    'from multiprocessing import shared_memory',
                    'if __name__ == "__main__":',
                    '    print("left here", os.listdir("/dev/shm"))',
                    '    with mp.Pool(2) as pool: print(pool.map(abs, [-1, -2, 3]))',
                    '    q = mp.Queue(); q.put("queued"); print(q.get())',
                    '    block = shared_memory.SharedMemory(create=True, size=1 << 20); block.buf[0] = 7; print(block.buf[0]); block.close(); block.unlink()',
                    '    open("/dev/shm/trace", "w").write("for the next job")',
                    WRITE_FILES('/dev/shm').split('\n').map((line) => `    ${line}`).join('\n')
                ].join('\n')
            });
            assert.equal(result.exitCode, 0, result.stderr);
            assert.match(result.stdout, /^left here \[\]\n\[1, 2, 3\]\nqueued\n7\nerror 28 ENOSPC after [0-4] files\ndone\n$/);
            const next = await run({ language: 'python', code: 'import os\nprint(os.listdir("/dev/shm"))' });
            assert.equal(next.stdout, '[]\n', next.stderr);
        });

        it('keeps the program where it was: /work/main.py, run from /work, read-only', async () => {
            const result = await run({
                language: 'python',
                code: 'import os, errno\nprint(__file__, os.getcwd(), sorted(os.listdir(".")))\ntry: open(__file__, "a")\nexcept OSError as e: print(errno.errorcode[e.errno])'
            });
            assert.equal(result.stdout, "/work/main.py /work ['.tmp', 'main.py']\nEROFS\n");
        });
    });
}
