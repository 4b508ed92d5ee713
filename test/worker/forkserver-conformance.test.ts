import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { CgroupHost, runProgram, type RunResult, type RunSpec, type SandboxStart } from '../../packages/worker/src/sandbox/index.js';
import { sandboxIdentity } from '../../packages/worker/src/sandbox/job-dir.js';

// As in the worker: every run in its own cgroup (v1 memory+pids on this host), emptied and reused.
const cgroups = CgroupHost.open({ identity: sandboxIdentity() });
after(() => cgroups.close());

function run(start: SandboxStart, spec: Partial<RunSpec> & Pick<RunSpec, 'code'>): Promise<RunResult> {
    return runProgram({ language: 'python', timeoutMs: 10_000, memoryMb: 256, mode: 'bwrap', cgroups, start, ...spec });
}

/** What a program shows of itself, without what differs from one run to the next (addresses). */
function observed(result: RunResult): Omit<RunResult, 'durationMs' | 'peakMemoryBytes'> {
    const stable = (text: string) => text.replace(/0x[0-9a-f]{6,}/g, '0x…');
    return { exitCode: result.exitCode, outcome: result.outcome, truncated: result.truncated, stdout: stable(result.stdout), stderr: stable(result.stderr) };
}

/** Runs the program fresh and through the fork server; both must show the same. */
async function conforms(spec: Partial<RunSpec> & Pick<RunSpec, 'code'>): Promise<RunResult> {
    const fresh = await run('fresh', spec);
    const forked = await run('forkserver', spec);
    assert.deepEqual(observed(forked), observed(fresh));
    return forked;
}

const lines = (...code: string[]) => code.join('\n');

describe('a python program forked from the fork server sees what a fresh one sees', { timeout: 120_000 }, () => {
    it('its module: __name__, __file__, globals, sys.argv, sys.path, flags and imported modules', async () => {
        const result = await conforms({
            code: lines(
                'import sys',
                'print(__name__, __file__, __doc__, __package__, __spec__, __cached__, type(__loader__).__name__, __loader__.name, __loader__.path)',
                'print(sorted(globals()), __annotations__, __builtins__)',
                'print(sys.argv, sys.orig_argv, sys.executable, sys.path[0], sys.flags)',
                'print(sorted(sys.modules))',
                "print(sys.modules['__main__'] is sys.modules[__name__], sys.modules['__main__'].__dict__ is globals())",
                'print(sys.getrecursionlimit(), sys.getdefaultencoding(), sys.getfilesystemencoding(), sys.stdin.encoding)'
            )
        });
        assert.match(result.stdout, /^__main__ \/work\/main\.py None None None None SourceFileLoader __main__ \/work\/main\.py\n/);
        assert.match(result.stdout, /\['main\.py'\] \['\/usr\/bin\/python3', '-u', 'main\.py'\] \/usr\/bin\/python3 \/work /);
    });

    it('its standard streams: types, buffering, encodings, stdin read by input() and read()', async () => {
        await conforms({
            code: lines(
                'import sys',
                'for s in (sys.stdin, sys.stdout, sys.stderr):',
                '    print(s, s.buffer if hasattr(s, "buffer") else None, s.encoding, s.errors, s.line_buffering, s.write_through, s.isatty(), s.seekable(), s.newlines, s.fileno())',
                'print(sys.stdin is sys.__stdin__, sys.stdout is sys.__stdout__, sys.stdin.buffer.raw, type(sys.stdout.buffer).__name__)',
                'name = input("name? ")',
                'print("hello", name)',
                'print(repr(sys.stdin.read()))',
                'sys.stdout.write("no newline"); sys.stderr.write("err1\\n"); print("after", file=sys.stderr, end="")'
            ),
            stdin: 'Ada\nrest\r\nof it\x00\n'
        });
    });

    it('its exit codes: sys.exit(3), sys.exit with a message, None, os._exit, a signal, an uncaught exception', async () => {
        const codes = await Promise.all([
            conforms({ code: 'import sys\nsys.exit(3)' }),
            conforms({ code: 'import sys\nsys.exit("bad input")' }),
            conforms({ code: 'import sys\nsys.exit(None)' }),
            conforms({ code: 'import sys\nsys.exit(256 + 7)' }),
            conforms({ code: 'import os\nprint("bye", flush=True)\nos._exit(5)' }),
            conforms({ code: 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)' }),
            conforms({ code: 'import os, signal\nos.kill(os.getpid(), signal.SIGTERM)' }),
            conforms({ code: 'raise KeyboardInterrupt' }),
            conforms({ code: 'def f(x):\n    return 1 / x\n\ndef g():\n    f(0)\n\ng()' }),
            conforms({ code: 'print("start")\nprint(undefined_name' })
        ]);
        assert.deepEqual(codes.map((result) => result.exitCode), [3, 1, 0, 7, 5, 137, 143, 130, 1, 1]);
        assert.equal(codes[1]!.stderr, 'bad input\n');
        assert.equal(
            codes[8]!.stderr,
            [
                'Traceback (most recent call last):',
                '  File "/work/main.py", line 7, in <module>',
                '    g()',
                '  File "/work/main.py", line 5, in g',
                '    f(0)',
                '  File "/work/main.py", line 2, in f',
                '    return 1 / x',
                '           ~~^~~',
                'ZeroDivisionError: division by zero',
                ''
            ].join('\n')
        );
        assert.match(codes[9]!.stderr, /^ {2}File "\/work\/main\.py", line 2\n/);
    });

    it('its process: PID 2 under a PID 1 of its own, session, ids, umask, cwd, environment, limits, capabilities', async () => {
        const result = await conforms({
            code: lines(
                'import os, resource',
                'print(os.getpid(), os.getppid(), os.getsid(0), os.getpgrp(), os.getuid(), os.getgid(), os.getgroups(), os.umask(0o22), os.getcwd())',
                'print(sorted(os.environ.items()), open("/proc/self/environ", "rb").read())',
                'print([resource.getrlimit(r) for r in (resource.RLIMIT_CPU, resource.RLIMIT_NPROC, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE, resource.RLIMIT_AS, resource.RLIMIT_CORE)])',
                'print(sorted(os.listdir("/proc/self/fd")), sorted(p for p in os.listdir("/proc") if p.isdigit()))',
                'print([l for l in open("/proc/self/status") if l.split(":")[0] in ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "SigIgn", "SigBlk", "NSpid", "NSsid")])',
                'print(open("/proc/self/cgroup").read())',
                'print(sorted(os.listdir(".")), os.stat(".").st_mode, os.stat("/tmp/").st_mode, os.stat(__file__).st_mode, os.stat(".").st_uid)',
                'import socket; print(socket.if_nameindex(), socket.gethostname() != "")'
            )
        });
        assert.match(result.stdout, /^2 1 1 1 /);
    });

    it('atexit, threads, __del__ at exit, warnings and multiprocessing (fork)', async () => {
        await conforms({
            code: lines(
                'import atexit, threading, time, warnings, multiprocessing, os',
                'class Noisy:',
                '    def __del__(self): print("collected at exit")',
                'keep = Noisy()',
                'atexit.register(print, "atexit ran")',
                'def late():',
                '    time.sleep(0.2); print("thread finished")',
                'threading.Thread(target=late).start()',
                'threading.Thread(target=time.sleep, args=(60,), daemon=True).start()',
                'warnings.warn("careful")',
                'warnings.warn("old", DeprecationWarning)',
                'def child(conn):',
                '    conn.send((os.getpid() > 2, os.getppid()))',
                "if __name__ == '__main__':",
                '    parent, end = multiprocessing.Pipe()',
                '    p = multiprocessing.Process(target=child, args=(end,)); p.start()',
                '    print("child says", parent.recv()); p.join(); print("exitcode", p.exitcode)',
                '    print("main done")'
            )
        });
    });

    it('its files and network: /work and /tmp writable together, the rest read-only, loopback up, nothing beyond', async () => {
        await conforms({
            code: lines(
                'import errno, os, socket',
                'open("/tmp/a", "w").write("a"); open("b", "w").write("b")',
                'print(sorted(os.listdir("/tmp")), sorted(os.listdir(".")), os.path.realpath("/tmp"))',
                'for p in ["/x", "/usr/x", "/dev/x", "/dev/shm/x", "/work/main.py", "/proc/sys/user/max_user_namespaces"]:',
                '    try: open(p, "a"); print(p, "writable")',
                '    except OSError as e: print(p, errno.errorcode[e.errno])',
                'for host, port in [("127.0.0.1", 6379), ("10.255.255.1", 80)]:',
                '    s = socket.socket()',
                '    try: s.connect((host, port))',
                '    except OSError as e: print(host, errno.errorcode[e.errno])',
                'print(sorted(os.listdir("/")), sorted(os.listdir("/dev")))'
            )
        });
    });
});
