import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { runProgram, type RunResult, type RunSpec, type SandboxStart } from '../../packages/worker/src/sandbox/index.js';
import {
    encodeProgram,
    SECCOMP_ALLOW,
    SECCOMP_ARCHES,
    SECCOMP_DENY,
    seccompFilter,
    seccompProgram,
    type BpfInstruction
} from '../../packages/worker/src/sandbox/seccomp.js';

/** A classic BPF interpreter for the instructions the builder emits, run on one seccomp_data. */
function evaluate(program: readonly BpfInstruction[], data: { nr: number; arch: number }): number {
    let accumulator = 0;
    for (let pc = 0, steps = 0; pc < program.length && steps < 1000; steps += 1) {
        const { code, jt, jf, k } = program[pc]!;
        if (code === 0x20) {
            assert.ok(k === 0 || k === 4, `load at ${k}`);
            accumulator = k === 0 ? data.nr >>> 0 : data.arch >>> 0;
            pc += 1;
        }
        else if (code === 0x15) {
            pc += 1 + (accumulator === k >>> 0 ? jt : jf);
        }
        else if (code === 0x35) {
            pc += 1 + (accumulator >= k >>> 0 ? jt : jf);
        }
        else if (code === 0x06) {
            return k >>> 0;
        }
        else {
            assert.fail(`unknown instruction ${code}`);
        }
    }
    return assert.fail('the program ran off its end');
}

describe('the seccomp filter', () => {
    for (const [name, arch] of Object.entries(SECCOMP_ARCHES)) {
        it(`denies exactly the blocked calls of ${name}, and every call of another architecture or of x32`, () => {
            const program = seccompProgram(arch);
            const blocked = new Set(Object.values(arch.numbers));
            for (let nr = 0; nr < 600; nr += 1) {
                assert.equal(evaluate(program, { nr, arch: arch.audit }), blocked.has(nr) ? SECCOMP_DENY : SECCOMP_ALLOW, `nr ${nr}`);
            }
            for (const other of [0x40000003 /* i386 */, 0x40000028 /* arm */, 0]) {
                assert.equal(evaluate(program, { nr: 1, arch: other }), SECCOMP_DENY);
            }
            if (arch.abiBit !== undefined) {
                assert.equal(evaluate(program, { nr: arch.abiBit | 1, arch: arch.audit }), SECCOMP_DENY);
            }
        });
    }

    it('encodes struct sock_filter, 8 bytes an instruction in host order', () => {
        const bytes = encodeProgram([{ code: 0x15, jt: 2, jf: 7, k: 0xc000003e }]);
        assert.deepEqual([...bytes], [0x15, 0x00, 2, 7, 0x3e, 0x00, 0x00, 0xc0]);
        assert.equal(seccompFilter().length % 8, 0);
    });

    it('refuses an architecture it does not know, rather than filtering nothing', () => {
        assert.throws(() => seccompFilter('riscv64'), /no seccomp filter for the riscv64 architecture/);
    });
});

/** Both ways a sandbox is made: every test below runs in each (python forks in forkserver mode). */
const STARTS: SandboxStart[] = ['fresh', 'forkserver'];
let start: SandboxStart = 'fresh';

function run(spec: Partial<RunSpec> & Pick<RunSpec, 'language' | 'code'>): Promise<RunResult> {
    return runProgram({ timeoutMs: 10_000, memoryMb: 256, mode: 'bwrap', start, ...spec });
}

for (const mode of STARTS) {
    describe(`a program in the sandbox, ${mode}`, { timeout: 60_000 }, () => {
        before(() => {
            start = mode;
        });

        it('cannot make a user namespace: unshare -Ur fails, and clone(CLONE_NEWUSER) too (--disable-userns)', async () => {
            const shell = await run({ language: 'bash', code: 'unshare -Ur true; echo "unshare $?"' });
            assert.match(shell.stdout, /^unshare [1-9]\d*\n$/);
            // clone is allowed by the filter: the bound is bwrap's --disable-userns
            const clone = await run({
                language: 'python',
                code: [
                    'import ctypes, errno, os',
                    'libc = ctypes.CDLL(None, use_errno=True)',
                    'pid = libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)',
                    'if pid == 0: os._exit(0)',
                    'if pid > 0: os.waitpid(pid, 0)',
                    'print(pid, errno.errorcode.get(ctypes.get_errno()))'
                ].join('\n')
            });
            assert.equal(clone.stdout, '-1 ENOSPC\n', clone.stderr);
        });

        it('gets EPERM from ptrace, mount, bpf, keyctl, perf_event_open, userfaultfd and unshare', { skip: process.arch !== 'x64' }, async () => {
            const calls: Array<[string, number, string]> = [
                ['ptrace', 101, '0, 0, 0, 0'], // PTRACE_TRACEME
                ['mount', 165, 'b"none", b"/tmp", b"tmpfs", 0, 0'],
                ['bpf', 321, '0, 0, 0'],
                ['keyctl', 250, '0, -1, 0'], // KEYCTL_GET_KEYRING_ID of the thread keyring
                ['perf_event_open', 298, 'ctypes.create_string_buffer(b"\\x01\\x00\\x00\\x00\\x80" + bytes(123)), 0, -1, -1, 0'],
                ['userfaultfd', 323, '1'], // UFFD_USER_MODE_ONLY
                ['unshare', 272, '0x00020000'] // CLONE_NEWNS
            ];
            const result = await run({
                language: 'python',
                code: [
                    'import ctypes, errno',
                    'libc = ctypes.CDLL(None, use_errno=True)',
                    ...calls.map(([name, nr, args]) =>
                        `ctypes.set_errno(0); r = libc.syscall(${nr}, ${args}); print("${name}", r, errno.errorcode.get(ctypes.get_errno()))`)
                ].join('\n')
            });
            assert.equal(result.exitCode, 0, result.stderr);
            assert.deepEqual(result.stdout.trim().split('\n'), calls.map(([name]) => `${name} -1 EPERM`));
        });

        it('still runs ordinary programs: threads, fork, subprocess and multiprocessing in python', async () => {
            const result = await run({
                language: 'python',
                code: [
                    'import multiprocessing, os, subprocess, threading',
                    'out = []',
                    'threads = [threading.Thread(target=out.append, args=(i,)) for i in range(4)]',
                    '[t.start() for t in threads]; [t.join() for t in threads]',
                    'pid = os.fork()',
                    'if pid == 0: os._exit(7)',
                    'print("threads", sorted(out), "fork", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))',
                    'print(subprocess.run(["echo", "sub"], capture_output=True, text=True).stdout.strip())',
                    'def child(conn): conn.send(6 * 7); conn.close()',
                    "if __name__ == '__main__':",
                    '    parent, end = multiprocessing.Pipe()',
                    '    p = multiprocessing.Process(target=child, args=(end,)); p.start()',
                    '    print("multiprocessing", parent.recv()); p.join()'
                ].join('\n')
            });
            assert.equal(result.exitCode, 0, result.stderr);
            assert.equal(result.stdout, 'threads [0, 1, 2, 3] fork 7\nsub\nmultiprocessing 42\n');
        });

        it('still runs ordinary javascript and bash: worker threads, child processes, files, pipes', async () => {
            const js = await run({
                language: 'javascript',
                code: [
                    "const { Worker } = require('node:worker_threads');",
                    "const { execFileSync } = require('node:child_process');",
                    "const fs = require('node:fs');",
                    "fs.writeFileSync('/tmp/a', 'file'); fs.writeFileSync('out', 'here');",
                    "const w = new Worker('require(\"node:worker_threads\").parentPort.postMessage(6 * 7)', { eval: true });",
                    "w.on('message', (m) => { console.log('worker', m, execFileSync('echo', ['child']).toString().trim(), fs.readFileSync('/tmp/a', 'utf8'), fs.readFileSync('out', 'utf8')); });"
                ].join('\n')
            });
            assert.equal(js.exitCode, 0, js.stderr);
            assert.equal(js.stdout, 'worker 42 child file here\n');
            const sh = await run({ language: 'bash', code: 'echo a | tr a b; (sleep 0.1; echo sub) & wait; seq 3 | wc -l > /tmp/n; cat /tmp/n' });
            assert.equal(sh.exitCode, 0, sh.stderr);
            assert.equal(sh.stdout, 'b\nsub\n3\n');
        });
    });
}
