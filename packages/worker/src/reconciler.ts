import { bullJobOptions, JOB_ATTEMPTS, jobKeys, type Logger } from '@collab/core';
import type { Queue } from 'bullmq';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';

import { LeaderLock } from './leader.js';
import type { JobPublisher } from './publisher.js';
import { failJob, JOB_ERRORS } from './store.js';

/** Options of {@link startReconciler}. */
export interface ReconcilerOptions {
    db: Knex;
    redis: Redis;
    queue: Queue;
    prefix: string;
    workerId: string;
    publisher: JobPublisher;
    logger: Logger;
    /** Between two passes (default 10 s). */
    intervalMs?: number;
    /** A `queued` job this old without a BullMQ job is re-enqueued (default 5 s). */
    queuedAgeMs?: number;
    /** A `running` job this long past its deadline without a BullMQ job is retried or failed (default 30 s). */
    runningGraceMs?: number;
}

/** What one pass did. */
export interface ReconcileReport {
    leader: boolean;
    enqueued: string[];
    requeued: string[];
    failed: string[];
}

// States in which BullMQ still owns the job (its stall detection included).
const LIVE_STATES = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);
const BATCH = 500;

/**
 * The reconciler repairs what Redis lost: `queued` rows without a BullMQ job
 * are enqueued again; `running` rows far past their deadline without one are
 * retried while attempts remain, else ended with `error`. One worker runs it
 * at a time (a Redis lock). Safe to repeat: adding a job twice is a no-op,
 * and a worker only runs a job whose row it can claim.
 */
export function startReconciler(options: ReconcilerOptions): { stop(): Promise<void>; runOnce(): Promise<ReconcileReport> } {
    const { db, queue, logger } = options;
    const intervalMs = options.intervalMs ?? 10_000;
    const lock = new LeaderLock(options.redis, jobKeys(options.prefix).reconcilerLock, options.workerId, Math.round(intervalMs * 2.5));

    async function enqueue(id: string): Promise<boolean> {
        const state = await queue.getJobState(id);
        if (LIVE_STATES.has(state)) {
            return false;
        }
        if (state !== 'unknown') {
            await queue.remove(id);
        }
        await queue.add('run', { job_id: id }, bullJobOptions(id));
        return true;
    }

    async function orphansQueued(report: ReconcileReport): Promise<void> {
        const rows: Array<{ id: string }> = await db('jobs')
            .select('id')
            .where('status', 'queued')
            .whereRaw(`created_at < now() - ? * interval '1 millisecond'`, [options.queuedAgeMs ?? 5_000])
            .orderBy('created_at')
            .limit(BATCH);
        for (const { id } of rows) {
            if (await enqueue(id)) {
                report.enqueued.push(id);
            }
        }
    }

    async function orphansRunning(report: ReconcileReport): Promise<void> {
        const rows: Array<{ id: string; attempts: number }> = await db('jobs')
            .select('id', 'attempts')
            .where('status', 'running')
            .whereRaw(`started_at < now() - (timeout_ms + ?) * interval '1 millisecond'`, [options.runningGraceMs ?? 30_000])
            .orderBy('started_at')
            .limit(BATCH);
        for (const { id, attempts } of rows) {
            if (LIVE_STATES.has(await queue.getJobState(id))) {
                continue;
            }
            if (attempts < JOB_ATTEMPTS) {
                const moved = await db('jobs').where({ id, status: 'running', attempts }).update({ status: 'queued', started_at: null }, ['id']);
                if (moved.length === 1 && (await enqueue(id))) {
                    report.requeued.push(id);
                }
                continue;
            }
            const error = JOB_ERRORS.workerLost(attempts);
            const owner = await failJob(db, id, error);
            if (owner) {
                report.failed.push(id);
                await options.publisher.status(owner, 'error', null, error);
            }
        }
    }

    async function runOnce(): Promise<ReconcileReport> {
        const report: ReconcileReport = { leader: false, enqueued: [], requeued: [], failed: [] };
        report.leader = await lock.acquire();
        if (report.leader) {
            await orphansQueued(report);
            await orphansRunning(report);
            if (report.enqueued.length + report.requeued.length + report.failed.length > 0) {
                logger.info(report, 'reconciler repaired jobs');
            }
        }
        return report;
    }

    let current: Promise<unknown> | undefined;
    const timer = setInterval(() => {
        // A pass stuck on a dead Redis or database must not pile up behind itself.
        current ??= runOnce()
            .catch((error: Error) => logger.warn({ err: error.message }, 'reconciler pass failed'))
            .finally(() => {
                current = undefined;
            });
    }, intervalMs);
    timer.unref();

    return {
        runOnce,
        stop: async () => {
            clearInterval(timer);
            await current;
            await lock.release().catch(() => undefined);
        },
    };
}
