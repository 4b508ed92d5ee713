import { bullJobOptions, JOB_ATTEMPTS, jobKeys, type Logger, type RedisClient } from '@collab/core';
import type { Queue } from 'bullmq';
import type { Knex } from 'knex';

import { LeaderLock } from './leader.js';
import type { JobPublisher } from './publisher.js';
import { failJob, JOB_ERRORS } from './store.js';

/** Options of {@link Reconciler}. */
export interface ReconcilerOptions {
    db: Knex;
    redis: RedisClient;
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
export class Reconciler {
    private readonly lock: LeaderLock;
    private readonly intervalMs: number;
    private timer: ReturnType<typeof setInterval> | undefined;
    private current: Promise<unknown> | undefined;

    constructor(private readonly options: ReconcilerOptions) {
        this.intervalMs = options.intervalMs ?? 10_000;
        this.lock = new LeaderLock(options.redis, jobKeys(options.prefix).reconcilerLock, options.workerId, Math.round(this.intervalMs * 2.5));
    }

    /** Runs a pass every interval until {@link close}. */
    start(): void {
        if (this.timer) {
            return;
        }
        this.timer = setInterval(() => {
            // A pass stuck on a dead Redis or database must not pile up behind itself.
            this.current ??= this.runOnce()
                .catch((error: Error) => this.options.logger.warn({ err: error.message }, 'reconciler pass failed'))
                .finally(() => {
                    this.current = undefined;
                });
        }, this.intervalMs);
        this.timer.unref();
    }

    /** Runs one pass now: repairs if this worker is (or becomes) the leader. */
    async runOnce(): Promise<ReconcileReport> {
        const report: ReconcileReport = { leader: false, enqueued: [], requeued: [], failed: [] };
        report.leader = await this.lock.acquire();
        if (report.leader) {
            await this.orphansQueued(report);
            await this.orphansRunning(report);
            if (report.enqueued.length + report.requeued.length + report.failed.length > 0) {
                this.options.logger.info(report, 'reconciler repaired jobs');
            }
        }
        return report;
    }

    /** Stops the passes, waits for the one in progress, and gives up the leadership. */
    async close(): Promise<void> {
        clearInterval(this.timer);
        this.timer = undefined;
        await this.current;
        await this.lock.release().catch(() => undefined);
    }

    private async enqueue(id: string): Promise<boolean> {
        const { queue } = this.options;
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

    private async orphansQueued(report: ReconcileReport): Promise<void> {
        const rows = await this.options.db('jobs')
            .select<Array<{ id: string }>>('id')
            .where('status', 'queued')
            .whereRaw('created_at < now() - ? * interval \'1 millisecond\'', [this.options.queuedAgeMs ?? 5_000])
            .orderBy('created_at')
            .limit(BATCH);
        for (const { id } of rows) {
            if (await this.enqueue(id)) {
                report.enqueued.push(id);
            }
        }
    }

    private async orphansRunning(report: ReconcileReport): Promise<void> {
        const { db, queue } = this.options;
        const rows = await db('jobs')
            .select<Array<{ id: string; attempts: number }>>('id', 'attempts')
            .where('status', 'running')
            .whereRaw('started_at < now() - (timeout_ms + ?) * interval \'1 millisecond\'', [this.options.runningGraceMs ?? 30_000])
            .orderBy('started_at')
            .limit(BATCH);
        for (const { id, attempts } of rows) {
            if (LIVE_STATES.has(await queue.getJobState(id))) {
                continue;
            }
            if (attempts < JOB_ATTEMPTS) {
                const moved = await db('jobs').where({ id, status: 'running', attempts }).update({ status: 'queued', started_at: null }, ['id']);
                if (moved.length === 1 && (await this.enqueue(id))) {
                    report.requeued.push(id);
                }
                continue;
            }
            const error = JOB_ERRORS.workerLost(attempts);
            const owner = await failJob(db, id, error);
            if (owner) {
                report.failed.push(id);
                await this.options.publisher.status(owner, 'error', null, error);
            }
        }
    }
}
