/** Every status a job can have (DESIGN §4 Jobs). */
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'error'] as const;

/** The status of a job; all but `queued` and `running` are terminal. */
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses a job never leaves (except `error`, through an admin retry). */
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'error'];

/** Whether `status` is terminal. */
export function isTerminal(status: string): status is Exclude<JobStatus, 'queued' | 'running'> {
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
    maxMemoryMb: 1024,
    /** Bytes kept of each of stdout and stderr (`truncated: true` beyond). */
    maxOutputBytes: 64 * 1024
} as const;

/** Job ids: `job_` and random URL-safe characters. */
export const JOB_ID_PATTERN = /^job_[A-Za-z0-9_-]{8,64}$/;

/** An output stream of a program. */
export type OutputStream = 'stdout' | 'stderr';

/**
 * A live update of a job (nes subscription `/jobs/{job_id}`). A status update with a terminal
 * status may carry `job`: the whole job as GET `/api/jobs/{job_id}/` answers it, so a waiter
 * needs no read; without it, read the job.
 */
export type JobUpdate =
    | { type: 'status'; job_id: string; status: JobStatus; attempts: number; exit_code: number | null; error: string | null; job?: Job }
    | { type: 'output'; job_id: string; stream: OutputStream; data: string };

/** Workspace bus events about jobs submitted with a `workspace_id`; payload {@link JobEventPayload}. */
export const JOB_EVENTS = { queued: 'job.queued', started: 'job.started', finished: 'job.finished' } as const;

/** Payload of the {@link JOB_EVENTS}; `exit_code` only on `job.finished`. */
export interface JobEventPayload {
    job_id: string;
    status: JobStatus;
    exit_code?: number | null;
}

/** A code-execution job as the API shows it (GET `/api/jobs/{job_id}/`). Timestamps are ISO 8601 UTC. */
export interface Job {
    job_id: string;
    status: JobStatus;
    language: string;
    workspace_id: number | null;
    attempts: number;
    exit_code: number | null;
    stdout: string;
    stderr: string;
    truncated: boolean;
    duration_ms: number | null;
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
    error: string | null;
}
