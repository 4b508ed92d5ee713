import { randomBytes } from 'node:crypto';

import type { JobUpdate } from '@collab/protocol';

/** Starts of a job the system makes before it gives up with `error` (system failures only). */
export const JOB_ATTEMPTS = 3;

/** Name of the BullMQ backoff strategy the worker registers ({@link retryDelayMs}). */
export const JOB_BACKOFF_TYPE = 'collab-jitter';

/** Delay before the first retry; doubles with every further one. */
export const JOB_BACKOFF_BASE_MS = 1000;

/** A fresh job id, `job_` followed by 16 random URL-safe characters. */
export function newJobId(): string {
    return `job_${randomBytes(12).toString('base64url')}`;
}

/**
 * Exponential backoff with "equal jitter": after the n-th failed attempt, wait
 * between half and all of `base * 2^(n-1)`, so retries of jobs that failed
 * together (a worker died with several) spread out instead of colliding.
 */
export function retryDelayMs(attemptsMade: number, random: () => number = Math.random): number {
    const ceiling = JOB_BACKOFF_BASE_MS * 2 ** Math.max(0, attemptsMade - 1);
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The only data a BullMQ job carries: the database row is the source of truth. */
export interface JobQueuePayload {
    job_id: string;
}

/**
 * BullMQ options of every job added to the queue, by the API or the
 * reconciler. The BullMQ job id is the job id, so adding it twice is a no-op;
 * finished BullMQ jobs are removed at once, so a job can be added again later.
 */
export function bullJobOptions(jobId: string) {
    return {
        jobId,
        attempts: JOB_ATTEMPTS,
        backoff: { type: JOB_BACKOFF_TYPE },
        removeOnComplete: true,
        removeOnFail: true
    };
}

/** Parses a message of an update channel; undefined when it is not one. */
export function parseJobUpdate(text: string): JobUpdate | undefined {
    try {
        const value = JSON.parse(text) as JobUpdate;
        return value && (value.type === 'status' || value.type === 'output') && typeof value.job_id === 'string' ? value : undefined;
    }
    catch {
        return undefined;
    }
}
