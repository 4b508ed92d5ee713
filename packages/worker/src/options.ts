import { availableParallelism } from 'node:os';

import { ConfigError, type Config, type Logger } from '@collab/core';
import type { Knex } from 'knex';

import { DEFAULT_CGROUP_ROOT } from './sandbox/cgroups.js';

/** Options of `startWorker()`; unset ones come from the environment, then from the defaults. */
export interface StartWorkerOptions {
    /** The validated configuration (Redis URL and prefix, database, sandbox mode). */
    config: Config;
    /** A database to use; the worker opens (and closes) its own when absent. */
    db?: Knex;
    logger?: Logger;
    /** Jobs run at once (env `WORKER_CONCURRENCY`, default {@link defaultConcurrency}: twice the CPU count). */
    concurrency?: number;
    /** How long `close()` lets running jobs finish before re-queueing them (env `WORKER_GRACE_MS`, default 30 s). */
    graceMs?: number;
    /** BullMQ lock of a running job; a dead worker's job is taken over after about this plus `stalledIntervalMs` (env `WORKER_LOCK_DURATION_MS`, default 10 s). */
    lockDurationMs?: number;
    /** Between two stalled-job checks (env `WORKER_STALLED_INTERVAL_MS`, default 5 s). */
    stalledIntervalMs?: number;
    /** Between two reconciler passes (env `WORKER_RECONCILE_INTERVAL_MS`, default 10 s). */
    reconcileIntervalMs?: number;
    /** A `queued` job this old without a BullMQ job is re-enqueued by the reconciler (default 5 s). */
    queuedAgeMs?: number;
    /** A `running` job this long past its deadline without a BullMQ job is retried or failed (default 30 s). */
    runningGraceMs?: number;
    /** Between two adverts of the worker in Redis (default 5 s). */
    heartbeatMs?: number;
    /** Unique id of this worker (default: host, pid and random). */
    id?: string;
    /** Where the cgroup hierarchies are mounted, for the per-job cgroups (default /sys/fs/cgroup). */
    cgroupRoot?: string;
}

/** The options with every default applied. */
export type ResolvedWorkerOptions = Required<Omit<StartWorkerOptions, 'db' | 'logger'>> & Pick<StartWorkerOptions, 'db' | 'logger'>;

const ENV: Array<[keyof StartWorkerOptions, string, number]> = [
    ['concurrency', 'WORKER_CONCURRENCY', 1],
    ['graceMs', 'WORKER_GRACE_MS', 0],
    ['lockDurationMs', 'WORKER_LOCK_DURATION_MS', 1000],
    ['stalledIntervalMs', 'WORKER_STALLED_INTERVAL_MS', 200],
    ['reconcileIntervalMs', 'WORKER_RECONCILE_INTERVAL_MS', 200],
];

/** Reads the worker's variables; throws a ConfigError naming a bad one. */
export function workerEnv(env: NodeJS.ProcessEnv = process.env): Partial<StartWorkerOptions> {
    const options: Partial<Record<keyof StartWorkerOptions, number>> = {};
    for (const [key, name, min] of ENV) {
        const raw = env[name];
        if (raw === undefined || raw === '') {
            continue;
        }
        const value = Number(raw);
        if (!/^\d+$/.test(raw.trim()) || value < min) {
            throw new ConfigError(`Invalid configuration: ${name} must be an integer of at least ${min}`);
        }
        options[key] = value;
    }
    return options as Partial<StartWorkerOptions>;
}

/**
 * Jobs a worker runs at once unless told: twice the CPU count. A short job
 * spends much of its wall time waiting (the hand-offs between the processes
 * that start a sandbox, the database, Redis), so one job per CPU leaves the
 * CPUs partly idle: on 2 CPUs, 4 slots ran 200 `print(1)` jobs 10–35% faster
 * than 2 (bench/jobs.ts), with the same latency at low load. CPU-bound
 * programs then share a CPU in pairs at full load, so they run slower
 * against their wall-clock limit: set WORKER_CONCURRENCY to the CPU count
 * for such workloads.
 */
export function defaultConcurrency(): number {
    return 2 * availableParallelism();
}

/** Explicit options, over the environment, over the defaults. */
export function resolveOptions(options: StartWorkerOptions, id: string): ResolvedWorkerOptions {
    const fromEnv = workerEnv();
    const pick = <K extends keyof StartWorkerOptions>(key: K, fallback: NonNullable<StartWorkerOptions[K]>) =>
        (options[key] ?? fromEnv[key] ?? fallback) as NonNullable<StartWorkerOptions[K]>;
    return {
        config: options.config,
        db: options.db,
        logger: options.logger,
        id: options.id ?? id,
        concurrency: pick('concurrency', defaultConcurrency()),
        graceMs: pick('graceMs', 30_000),
        lockDurationMs: pick('lockDurationMs', 10_000),
        stalledIntervalMs: pick('stalledIntervalMs', 5_000),
        reconcileIntervalMs: pick('reconcileIntervalMs', 10_000),
        queuedAgeMs: pick('queuedAgeMs', 5_000),
        runningGraceMs: pick('runningGraceMs', 30_000),
        heartbeatMs: pick('heartbeatMs', 5_000),
        cgroupRoot: options.cgroupRoot ?? DEFAULT_CGROUP_ROOT,
    };
}
