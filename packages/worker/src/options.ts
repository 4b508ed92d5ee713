import type { Config, Logger } from '@collab/core';
import type { Knex } from 'knex';

import { DEFAULT_CGROUP_ROOT } from './sandbox/cgroups.js';

/** Options of `startWorker()`; unset ones come from `config.worker` (the environment, validated), then from the defaults. */
export interface StartWorkerOptions {
    /** The validated configuration (Redis URL and prefix, database, sandbox mode). */
    config: Config;
    /** A database to use; the worker opens (and closes) its own when absent. */
    db?: Knex;
    logger?: Logger;
    /** Overrides `config.worker.concurrency`. */
    concurrency?: number;
    /** Overrides `config.worker.graceMs`. */
    graceMs?: number;
    /** Overrides `config.worker.lockDurationMs`. */
    lockDurationMs?: number;
    /** Overrides `config.worker.stalledIntervalMs`. */
    stalledIntervalMs?: number;
    /** Overrides `config.worker.reconcileIntervalMs`. */
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

/** Explicit options over the configuration's worker settings (validated once, with their defaults, by `loadConfig`). */
export function resolveOptions(options: StartWorkerOptions, id: string): ResolvedWorkerOptions {
    const settings = options.config.worker;
    return {
        config: options.config,
        db: options.db,
        logger: options.logger,
        id: options.id ?? id,
        concurrency: options.concurrency ?? settings.concurrency,
        graceMs: options.graceMs ?? settings.graceMs,
        lockDurationMs: options.lockDurationMs ?? settings.lockDurationMs,
        stalledIntervalMs: options.stalledIntervalMs ?? settings.stalledIntervalMs,
        reconcileIntervalMs: options.reconcileIntervalMs ?? settings.reconcileIntervalMs,
        queuedAgeMs: options.queuedAgeMs ?? 5_000,
        runningGraceMs: options.runningGraceMs ?? 30_000,
        heartbeatMs: options.heartbeatMs ?? 5_000,
        cgroupRoot: options.cgroupRoot ?? DEFAULT_CGROUP_ROOT
    };
}
