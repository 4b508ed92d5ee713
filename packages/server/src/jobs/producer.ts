import { bullJobOptions, Job, type Logger } from '@collab/core';
import type { Queue } from 'bullmq';
import type { Knex } from 'knex';

/** How long a submit waits for Redis before leaving the job to the reconciler. */
const ENQUEUE_TIMEOUT_MS = 1000;

// States in which BullMQ still holds the job: adding it again would be a no-op.
const LIVE_STATES = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Puts committed jobs on the BullMQ queue. Enqueueing never fails a request:
 * while Redis is down the row stays `queued` and the workers' reconciler
 * enqueues it once Redis is back.
 */
export class JobProducer {
    constructor(private readonly queue: Queue, private readonly logger: Logger) {}

    /** Adds the job (BullMQ job id = job id, payload `{job_id}`). Resolves false when Redis did not take it in time. */
    async enqueue(jobId: string): Promise<boolean> {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<false>((resolve) => {
            timer = setTimeout(() => resolve(false), ENQUEUE_TIMEOUT_MS);
        });
        const add = this.queue.add('run', { job_id: jobId }, bullJobOptions(jobId)).then(() => true as const);
        try {
            const added = await Promise.race([add, timeout]);
            if (!added) {
                this.logger.warn({ job_id: jobId }, 'Redis is slow or down: the job stays queued for the reconciler');
            }

            return added;
        }
        catch (error) {
            this.logger.warn({ job_id: jobId, err: (error as Error).message }, 'cannot enqueue the job: it stays queued for the reconciler');
            return false;
        }
        finally {
            clearTimeout(timer);
            add.catch(() => undefined);
        }
    }

    /** Removes a job that has not started from the queue (best effort: a locked job stays). */
    async remove(jobId: string): Promise<void> {
        await this.queue.remove(jobId).catch(() => undefined);
    }

    /**
     * Re-queues a job that ended in `error` (admin retry): the row goes back
     * to `queued`, then a stale BullMQ job with the same id is removed so the
     * new one can be added. Returns the job, `conflict` for another status,
     * or undefined for an unknown id.
     */
    async retry(db: Knex, jobId: string): Promise<Job | 'conflict' | undefined> {
        const [row] = await Job.query(db)
            .patch({ status: 'queued', error: null, finished_at: null, started_at: null, exit_code: null, cancel_requested_at: null })
            .where({ id: jobId, status: 'error' })
            .returning('*') as unknown as Job[];
        if (!row) {
            const existing = await Job.query(db).select('id').findById(jobId);
            return existing ? 'conflict' : undefined;
        }

        const state = await this.queue.getJobState(jobId).catch(() => 'unknown');
        if (!LIVE_STATES.has(state) && state !== 'unknown') {
            await this.remove(jobId);
        }

        await this.enqueue(jobId);
        return row;
    }
}
