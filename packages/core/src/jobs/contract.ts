import { randomBytes } from 'node:crypto';

/** Every status a job can have (DESIGN §4 Jobs). */
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'error'] as const;

/** The status of a job; all but `queued` and `running` are terminal. */
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses a job never leaves (except `error`, through an admin retry). */
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'error'];

/** Whether `status` is terminal. */
export function isTerminal(status: string): boolean {
    return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** Bounds of a submitted job, checked at the edge (the API) and trusted by the worker. */
export const JOB_LIMITS = {
    /** Bytes of UTF-8 source. */
    maxCodeBytes: 64 * 1024,
    /** Bytes of UTF-8 stdin. */
    maxStdinBytes: 64 * 1024,
    minTimeoutMs: 100,
    defaultTimeoutMs: 10_000,
    maxTimeoutMs: 60_000,
    minMemoryMb: 32,
    defaultMemoryMb: 256,
    maxMemoryMb: 1024
} as const;

/** Starts of a job the system makes before it gives up with `error` (system failures only). */
export const JOB_ATTEMPTS = 3;

/** Name of the BullMQ backoff strategy the worker registers ({@link retryDelayMs}). */
export const JOB_BACKOFF_TYPE = 'collab-jitter';

/** Delay before the first retry; doubles with every further one. */
export const JOB_BACKOFF_BASE_MS = 1000;

/** Job ids: `job_` and random URL-safe characters. */
export const JOB_ID_PATTERN = /^job_[A-Za-z0-9_-]{8,64}$/;

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

/** A message on a job's update channel ({@link jobKeys}`.updates`). */
export type JobUpdate =
    | { type: 'status'; job_id: string; status: JobStatus; attempts: number; exit_code: number | null; error: string | null }
    | { type: 'output'; job_id: string; stream: 'stdout' | 'stderr'; data: string };

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

/** Workspace bus events about jobs submitted with a `workspace_id`; payload {@link JobEventPayload}. */
export const JOB_EVENTS = { queued: 'job.queued', started: 'job.started', finished: 'job.finished' } as const;

/** Payload of the {@link JOB_EVENTS}; `exit_code` only on `job.finished`. */
export interface JobEventPayload {
    job_id: string;
    status: JobStatus;
    exit_code?: number | null;
}
