/**
 * The sandbox's own overhead: wall time of `print(1)` in python started bare
 * (no job directory, no bubblewrap, no limits shell) against the same
 * program through runProgram in `none` and `bwrap` mode, one run at a time.
 * Bare runs are timed both through the spawner runProgram uses and with
 * node's spawnSync; runProgram through node's own spawn (the fallback
 * without the spawner) is timed too. `overhead_median_ms` compares runs
 * started the same way (the spawner). `node_cpu_ms_per_run` is what this
 * process spent per run; `host_cpu_ms_per_run` is the busy time of the whole
 * host per run (the sandbox's processes and the spawner included, but also
 * any other tenant: only meaningful on an otherwise idle host; note the load
 * average).
 *
 *   node --conditions=source --import tsx bench/sandbox.ts   (BENCH_RUNS, default 40)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

import { sandboxIdentity } from '../packages/worker/src/sandbox/job-dir.js';
import { Spawner } from '../packages/worker/src/sandbox/spawner.js';
import { runProgram, spawnDirectly, type RunResult, type RunSpec } from '../packages/worker/src/sandbox/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);

interface Stats {
    median_ms: number;
    p95_ms: number;
    min_ms: number;
    node_cpu_ms_per_run: number;
    host_cpu_ms_per_run: number;
}

/** Busy CPU time of the whole host, in ms. */
function hostBusyMs(): number {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return ((fields.reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!) * 1000) / 100;
}

async function time(fn: () => unknown): Promise<Stats> {
    await fn();
    const samples: number[] = [];
    const cpu = process.cpuUsage();
    const host = hostBusyMs();
    for (let i = 0; i < RUNS; i += 1) {
        const start = performance.now();
        await fn();
        samples.push(performance.now() - start);
    }
    const used = process.cpuUsage(cpu);
    const sorted = samples.sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
    const round = (ms: number) => Math.round(ms * 10) / 10;
    return {
        median_ms: round(at(0.5)),
        p95_ms: round(at(0.95)),
        min_ms: round(sorted[0]!),
        node_cpu_ms_per_run: Math.round(((used.user + used.system) / 1000 / RUNS) * 100) / 100,
        host_cpu_ms_per_run: round((hostBusyMs() - host) / RUNS)
    };
}

const spec = (mode: 'bwrap' | 'none', launcher?: RunSpec['launcher']): RunSpec => ({ language: 'python', code: 'print(1)', timeoutMs: 10_000, memoryMb: 256, mode, launcher });
const check = (result: RunResult) => {
    if (result.stdout !== '1\n') throw new Error(`unexpected result ${JSON.stringify(result)}`);
};

const spawner = new Spawner(sandboxIdentity());
const bareThroughSpawner = () =>
    new Promise<void>((resolve, reject) => {
        const launched = spawner.launch({
            invocation: { file: '/usr/bin/python3', args: ['-c', 'print(1)'], env: {}, cwd: '/' },
            stdin: '',
            identity: sandboxIdentity(),
            capBytes: 1024
        });
        let out = '';
        launched.on('data', (_stream, chunk) => {
            out += chunk.toString();
        });
        launched.once('error', reject);
        launched.once('close', () => (out === '1\n' ? resolve() : reject(new Error(`unexpected output ${out}`))));
    });

const bare = await time(bareThroughSpawner);
const bareSpawnSync = await time(() => {
    const result = spawnSync('/usr/bin/python3', ['-c', 'print(1)']);
    if (result.status !== 0) throw new Error('python3 failed');
});
const none = await time(async () => check(await runProgram(spec('none'))));
const bwrap = await time(async () => check(await runProgram(spec('bwrap'))));
const bwrapNodeSpawn = await time(async () => check(await runProgram(spec('bwrap', spawnDirectly))));

console.log(
    JSON.stringify(
        {
            program: 'python print(1)',
            runs: RUNS,
            load_average_1m: Math.round(loadavg()[0]! * 100) / 100,
            bare,
            bare_spawnSync: bareSpawnSync,
            runner_none: none,
            runner_bwrap: bwrap,
            runner_bwrap_node_spawn: bwrapNodeSpawn,
            overhead_median_ms: Math.round((bwrap.median_ms - bare.median_ms) * 10) / 10,
            overhead_host_cpu_ms: Math.round((bwrap.host_cpu_ms_per_run - bare.host_cpu_ms_per_run) * 10) / 10
        },
        null,
        2
    )
);
