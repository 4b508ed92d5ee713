/**
 * The sandbox's own overhead: wall time of `print(1)` in python run bare
 * (spawn of /usr/bin/python3) against the same program through runProgram
 * in bwrap mode (job directory, bwrap, prlimit, cleanup).
 *
 *   node --conditions=source --import tsx bench/sandbox.ts
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

import { runProgram } from '../packages/worker/src/sandbox/index.js';

const RUNS = 20;

function stats(samples: number[]): { median_ms: number; p95_ms: number; min_ms: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { median_ms: round(at(0.5)), p95_ms: round(at(0.95)), min_ms: round(sorted[0]!) };
}

async function time(fn: () => unknown): Promise<number[]> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

const bare = await time(() => {
  const result = spawnSync('/usr/bin/python3', ['-c', 'print(1)']);
  if (result.status !== 0) throw new Error('python3 failed');
});
const run = (mode: 'bwrap' | 'none') => async () => {
  const result = await runProgram({ language: 'python', code: 'print(1)', timeoutMs: 10_000, memoryMb: 256, mode });
  if (result.stdout !== '1\n') throw new Error(`unexpected result ${JSON.stringify(result)}`);
};
const none = await time(run('none'));
const bwrap = await time(run('bwrap'));

const b = stats(bare);
const w = stats(bwrap);
console.log(
  JSON.stringify(
    {
      program: "python print(1)",
      runs: RUNS,
      bare: b,
      runner_none: stats(none),
      runner_bwrap: w,
      overhead_median_ms: Math.round((w.median_ms - b.median_ms) * 10) / 10,
    },
    null,
    2,
  ),
);
