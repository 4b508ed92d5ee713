import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { after, describe, it } from 'node:test';

import { CgroupHost, runProgram, type RunResult, type RunSpec } from '../../packages/worker/src/sandbox/index.js';
import { sandboxIdentity } from '../../packages/worker/src/sandbox/job-dir.js';
import { childrenOf, statFields } from '../helpers/proc.js';
import { until } from '../helpers/wait.js';

// As in the worker: every run in its own cgroup (v1 memory+pids on this host), emptied and reused.
const cgroups = CgroupHost.open({ identity: sandboxIdentity() });
after(() => cgroups.close());

function run(spec: Partial<RunSpec> & Pick<RunSpec, 'code'>): Promise<RunResult> {
    return runProgram({ language: 'python', timeoutMs: 10_000, memoryMb: 256, mode: 'bwrap', cgroups, start: 'forkserver', ...spec });
}

/** This process's fork server as the host sees it: spawner → bwrap → bwrap's PID 1 → the server. */
async function forkServer(): Promise<{ pid: number; fds: number }> {
    for (const spawner of childrenOf(process.pid)) {
        for (const bwrap of childrenOf(spawner)) {
            if (!(await readFile(`/proc/${bwrap}/cmdline`, 'utf8').catch(() => '')).includes('--ro-bind-data')) continue;
            for (const init of childrenOf(bwrap)) {
                const [server] = childrenOf(init);
                if (server !== undefined) {
                    return { pid: server, fds: (await readdir(`/proc/${server}/fd`)).length };
                }
            }
        }
    }
    return assert.fail('no fork server runs for this process');
}

const lines = (...code: string[]) => code.join('\n');

/** A token no program knows in one piece: its two halves are passed apart and never joined in the searcher. */
function secret(): { whole: string; head: string; tail: string } {
    const whole = `secret-${randomBytes(12).toString('hex')}`;
    return { whole, head: whole.slice(0, 16), tail: whole.slice(16) };
}

describe('a job forked from the fork server', { timeout: 120_000 }, () => {
    it('cannot see or signal the processes of a job running beside it', async () => {
        await run({ code: 'print(1)' });
        const neighbour = run({ code: 'import time\nprint("started", flush=True)\ntime.sleep(3)\nprint("undisturbed")' });
        const result = await run({
            code: lines(
                'import os, signal',
                'print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))',
                'hit = []',
                'for pid in range(1, 4096):',
                '    if pid == os.getpid(): continue',
                '    try: os.kill(pid, signal.SIGKILL); hit.append(pid)',
                '    except OSError: pass',
                'print("signalled", hit)',
                'try: os.kill(-1, signal.SIGKILL)',
                'except OSError as e: print("kill -1", e.errno)',
                'print("still here")'
            )
        });
        assert.equal(result.exitCode, 0, result.stderr);
        // Only its own PID 1 and itself; PID 1 ignores what the job sends it.
        assert.equal(result.stdout, '[1, 2]\nsignalled [1]\nkill -1 3\nstill here\n');
        const beside = await neighbour;
        assert.deepEqual([beside.exitCode, beside.stdout], [0, 'started\nundisturbed\n']);
    });

    it('cannot read the files or output of a job running beside it', async () => {
        const token = secret();
        const neighbour = run({
            code: lines(
                'import time',
                `token = ${JSON.stringify(token.head)} + ${JSON.stringify(token.tail)}`,
                'open("/work/mine", "w").write(token); open("/tmp/mine", "w").write(token)',
                'print(token, flush=True)',
                'time.sleep(3)'
            )
        });
        await new Promise((resolve) => setTimeout(resolve, 500));
        const result = await run({
            code: lines(
                'import os',
                `head, tail = ${JSON.stringify(token.head)}, ${JSON.stringify(token.tail)}`,
                'found = []',
                'paths = [os.path.join(root, name) for top in ("/work", "/tmp/") for root, _, names in os.walk(top) for name in names]',
                'for pid in [p for p in os.listdir("/proc") if p.isdigit()]:',
                '    paths += [f"/proc/{pid}/{name}" for name in ("cmdline", "environ", "maps")]',
                '    paths += [f"/proc/{pid}/fd/{fd}" for fd in os.listdir(f"/proc/{pid}/fd") if fd not in ("0", "1", "2")] if pid != "1" else []',
                'for path in paths:',
                '    try: data = open(path, "rb").read(1 << 20).decode("latin-1")',
                '    except OSError: continue',
                '    at = data.find(head)',
                '    if at >= 0 and data[at + len(head):at + len(head) + len(tail)] == tail: found.append(path)',
                'print("found", found, sorted(os.listdir("/work")), os.listdir("/tmp"))'
            )
        });
        assert.equal(result.stdout, "found [] ['.tmp', 'main.py'] []\n", result.stderr);
        assert.equal((await neighbour).stdout, `${token.whole}\n`);
    });

    it('finds no trace of an earlier job in its memory or on its disk', async () => {
        const token = secret();
        const earlier = await run({
            code: lines(
                `token = ${JSON.stringify(token.whole)}`,
                'import sys; given = sys.stdin.read()',
                'open("/work/kept", "w").write(token + given); open("/tmp/kept", "w").write(token)',
                'blob = [token * 1000 for _ in range(100)]',
                'print(token, given)'
            ),
            stdin: token.whole
        });
        assert.equal(earlier.stdout, `${token.whole} ${token.whole}\n`);
        const result = await run({
            code: lines(
                'import os, re',
                `head, tail = ${JSON.stringify(token.head)}.encode(), ${JSON.stringify(token.tail)}.encode()`,
                'hits = scanned = 0',
                'mem = open("/proc/self/mem", "rb", buffering=0)',
                'for line in open("/proc/self/maps").read().splitlines():',
                '    span, perms = line.split()[:2]',
                '    if "r" not in perms or line.endswith("[vvar]") or line.endswith("[vsyscall]"): continue',
                '    start, end = (int(x, 16) for x in span.split("-"))',
                '    try: mem.seek(start); data = mem.read(end - start)',
                '    except OSError: continue',
                '    scanned += len(data)',
                '    for m in re.finditer(re.escape(head), data):',
                '        if data[m.end():m.end() + len(tail)] == tail: hits += 1',
                'print("hits", hits, scanned > 5_000_000, sorted(os.listdir("/work")), os.listdir("/tmp"))'
            )
        });
        assert.equal(result.stdout, "hits 0 True ['.tmp', 'main.py'] []\n", result.stderr);
    });

    it('cannot affect the fork server: killing its parent, writing over mapped files, using up descriptors', async () => {
        await run({ code: 'print(1)' });
        const before = await forkServer();
        const results = await Promise.all([
            run({ code: 'import os, signal\nfor s in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):\n    os.kill(os.getppid(), s)\nprint("parent", os.getppid())' }),
            run({
                code: lines(
                    'import errno, os',
                    'paths = sorted({l.split()[-1] for l in open("/proc/self/maps") if l.split()[-1].startswith("/")})',
                    'for p in paths:',
                    '    try: open(p, "r+b"); print(p, "opened for writing")',
                    '    except OSError as e: print(errno.errorcode[e.errno])',
                    'for target in ("/proc/1/mem", "/proc/1/environ"):',
                    '    try: open(target, "r+b"); print(target, "opened")',
                    '    except OSError as e: print(target, errno.errorcode[e.errno])',
                    // a child writes over every mapping of its own, the libraries shared with the server included
                    'pid = os.fork()',
                    'if pid == 0:',
                    '    mem = os.open("/proc/self/mem", os.O_RDWR)',
                    '    for line in open("/proc/self/maps").read().splitlines():',
                    '        start, end = (int(x, 16) for x in line.split()[0].split("-"))',
                    '        try: os.pwrite(mem, b"\\xcc" * (end - start), start)',
                    '        except OSError: pass',
                    '    os._exit(0)',
                    'print("child ended", os.waitpid(pid, 0)[1] != 0 or "cleanly")'
                )
            }),
            run({
                code: lines(
                    'import os, time',
                    'held = []',
                    'try:',
                    '    while True: held.append(os.open("/dev/null", os.O_RDONLY))',
                    'except OSError as e: print("descriptors", len(held), e.errno)',
                    'for _ in range(8):',
                    '    if os.fork() == 0:',
                    '        time.sleep(2); os._exit(0)',
                    'time.sleep(1)'
                )
            }),
            ...Array.from({ length: 4 }, () => run({ code: 'print("beside")' }))
        ]);
        assert.match(results[0]!.stdout, /^parent 1\n$/);
        assert.doesNotMatch(results[1]!.stdout, /opened/);
        assert.match(results[1]!.stdout, /\/proc\/1\/mem EACCES\n/);
        assert.match(results[2]!.stdout, /^descriptors 61 24\n$/);
        for (const beside of results.slice(3)) {
            assert.equal(beside.stdout, 'beside\n');
        }
        const after = await forkServer();
        assert.deepEqual(after, before);
        assert.equal((await run({ code: 'print("next")' })).stdout, 'next\n');
    });
    it('waits with the next job\'s child cloned ahead into namespaces of its own, and runs the job when that child died meanwhile', async () => {
        await run({ code: 'print(1)' });
        const { pid: server } = await forkServer();
        const ahead = await until(() => {
            const waiting = childrenOf(server);
            return waiting.length === 1 && waiting[0];
        }, 5000, 'one child waiting beside the idle fork server');
        const namespace = (pid: number, kind: string) => readlink(`/proc/${pid}/ns/${kind}`);
        for (const kind of ['user', 'pid', 'mnt', 'net', 'ipc', 'uts']) {
            assert.notEqual(await namespace(ahead, kind), await namespace(server, kind), `its own ${kind} namespace`);
        }

        process.kill(ahead, 'SIGKILL');
        // dead, not dying: a child that dies while its job is being handed over fails that start (the worker retries it)
        await until(() => ['Z', undefined].includes(statFields(ahead)?.[0]), 5000, 'the waiting child to be dead');
        const result = await run({ code: 'import os\nprint(os.getpid())' });
        assert.deepEqual([result.exitCode, result.stdout], [0, '2\n']);
        assert.equal((await forkServer()).pid, server, 'the same fork server took the job');
    });
});
