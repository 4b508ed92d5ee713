/**
 * The sandbox's own overhead: wall time of `print(1)` in python run bare
 * (spawn of /usr/bin/python3) against the same program through runProgram
 * (job directory, bubblewrap, the limits shell, cleanup) in `none` and
 * `bwrap` mode, one run at a time. `node_cpu_ms_per_run` is what this
 * process spent per run (spawn, pipes, job directory), not the sandbox's
 * own processes. On a shared host, note the load average: wall times grow
 * with it.
 *
 *   node --conditions=source --import tsx bench/sandbox.ts   (BENCH_RUNS, default 40)
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

import { runProgram, type RunResult, type RunSpec } from '../packages/worker/src/sandbox/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);

interface Stats {
  median_ms: number;
  p95_ms: number;
  min_ms: number;
  node_cpu_ms_per_run: number;
}

async function time(fn: () => unknown): Promise<Stats> {
  await fn();
  const samples: number[] = [];
  const cpu = process.cpuUsage();
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
  };
}

const spec = (mode: 'bwrap' | 'none'): RunSpec => ({ language: 'python', code: 'print(1)', timeoutMs: 10_000, memoryMb: 256, mode });
const check = (result: RunResult) => {
  if (result.stdout !== '1\n') throw new Error(`unexpected result ${JSON.stringify(result)}`);
};

const bare = await time(() => {
  const result = spawnSync('/usr/bin/python3', ['-c', 'print(1)']);
  if (result.status !== 0) throw new Error('python3 failed');
});
const none = await time(async () => check(await runProgram(spec('none'))));
const bwrap = await time(async () => check(await runProgram(spec('bwrap'))));

console.log(
  JSON.stringify(
    {
      program: 'python print(1)',
      runs: RUNS,
      load_average_1m: Math.round(loadavg()[0]! * 100) / 100,
      bare,
      runner_none: none,
      runner_bwrap: bwrap,
      overhead_median_ms: Math.round((bwrap.median_ms - bare.median_ms) * 10) / 10,
    },
    null,
    2,
  ),
);
