import type { Knex } from 'knex';
import type { Job as JobResource, JobStatus } from '@collab/protocol';
import { JOB_RESOURCE_COLUMNS, jobResource, type JobResourceRow } from '@collab/core';

/** A job as a worker runs it: the row after a successful claim, with the submitter's email. */
export interface ClaimedJob {
    id: string;
    user_id: number;
    user_email: string;
    workspace_id: number | null;
    language: string;
    code: string;
    stdin: string | null;
    timeout_ms: number;
    memory_mb: number;
    status: JobStatus;
    /** This run's attempt number: the final write is conditional on it. */
    attempts: number;
}

declare const sentence: unique symbol;

/**
 * Text for a job's `error`, read by people (DESIGN §4): only {@link JOB_ERRORS}
 * makes one, so an exception's message, SQL or a stack trace cannot get
 * there. Such detail goes to the worker's log.
 */
export type JobErrorText = string & { readonly [sentence]: true };

const text = (value: string) => value as JobErrorText;

/** Every sentence a job's `error` can hold. */
export const JOB_ERRORS = {
    /** The system could not run it (the sandbox did not start, the result could not be written…) on its last attempt. */
    systemFailure: (attempts: number) => text(`system failure after ${attempts} attempt(s); an administrator can retry it`),
    /** The workers running it died on every attempt. */
    workerLost: (attempts: number) => text(`the worker running it was lost after ${attempts} attempts`),
    /** The wall clock ended it. */
    timedOut: (timeoutMs: number) => text(`killed after the ${timeoutMs} ms time limit`)
} as const;

/** The outcome a run writes. */
export interface JobResultRow {
    status: JobStatus;
    exit_code: number | null;
    stdout: string;
    stderr: string;
    truncated: boolean;
    duration_ms: number | null;
    error: JobErrorText | null;
}

/** A program's output as PostgreSQL's text can store it: NUL characters become U+FFFD (DESIGN §4). */
export function storableOutput(output: string): string {
    return output.includes('\0') ? output.replaceAll('\0', '\uFFFD') : output;
}

/** Who and where a job belongs to, for publishing its updates. */
export interface JobOwner {
    id: string;
    user_id: number;
    user_email: string;
    workspace_id: number | null;
    attempts: number;
}

/**
 * Claims a job for one run: `queued` or `running` (a run cut short by a
 * worker's death) becomes `running` with one more attempt. A job whose
 * cancellation was requested becomes `cancelled` instead, without a run.
 * Undefined when the job is gone or already terminal (cancelled, or finished
 * by another worker): the run must not happen. The commit does not wait for
 * the WAL to reach the disk: only a crash of PostgreSQL itself may undo a
 * claim, and then the job is queued again and runs once more (finishJob
 * refuses the first run's result).
 */
export async function claimJob(db: Knex, id: string): Promise<ClaimedJob | undefined> {
    const result = await db.raw<{ rows: ClaimedJob[] }>(
        `WITH claimed AS (
           UPDATE jobs SET
             status = CASE WHEN cancel_requested_at IS NULL THEN 'running' ELSE 'cancelled' END,
             attempts = CASE WHEN cancel_requested_at IS NULL THEN attempts + 1 ELSE attempts END,
             started_at = CASE WHEN cancel_requested_at IS NULL THEN now() ELSE started_at END,
             finished_at = CASE WHEN cancel_requested_at IS NULL THEN NULL ELSE now() END,
             error = NULL
           WHERE id = ? AND status IN ('queued', 'running')
           RETURNING id, user_id, workspace_id, language, code, stdin, timeout_ms, memory_mb, status, attempts
         ), relaxed AS (
           SELECT set_config('synchronous_commit', 'off', true)
         )
         SELECT claimed.*, users.email AS user_email FROM claimed JOIN users ON users.id = claimed.user_id, relaxed`,
        [id]
    );
    return result.rows[0];
}

/**
 * Writes a run's terminal status, only if this run is still the job's
 * latest (`attempts` matches) and nothing else ended it: of two workers that
 * ran the same job, at most one write lands. Returns the job as the API now
 * shows it when it did, undefined when it did not.
 */
export async function finishJob(db: Knex, id: string, attempt: number, result: JobResultRow): Promise<JobResource | undefined> {
    const { rows } = await db.raw<{ rows: JobResourceRow[] }>(
        `UPDATE jobs SET status = ?, exit_code = ?, stdout = ?, stderr = ?, truncated = ?, duration_ms = ?, error = ?, finished_at = now()
         WHERE id = ? AND status = 'running' AND attempts = ?
         RETURNING ${JOB_RESOURCE_COLUMNS.join(', ')}`,
        [result.status, result.exit_code, storableOutput(result.stdout), storableOutput(result.stderr), result.truncated, result.duration_ms, result.error, id, attempt]
    );
    return rows[0] && jobResource(rows[0]);
}

/** Puts a job this run could not finish back to `queued` (graceful shutdown). Returns whether it did. */
export async function requeueJob(db: Knex, id: string, attempt: number): Promise<boolean> {
    const rows = await db('jobs')
        .where({ id, status: 'running', attempts: attempt })
        .update({ status: 'queued', started_at: null }, ['id']);
    return rows.length === 1;
}

/** Ends a job the system gave up on with `error`, unless it already ended. */
export async function failJob(db: Knex, id: string, error: JobErrorText): Promise<JobOwner | undefined> {
    const result = await db.raw<{ rows: JobOwner[] }>(
        `WITH failed AS (
           UPDATE jobs SET status = 'error', error = ?, finished_at = now()
           WHERE id = ? AND status IN ('queued', 'running')
           RETURNING id, user_id, workspace_id, attempts
         )
         SELECT failed.*, users.email AS user_email FROM failed JOIN users ON users.id = failed.user_id`,
        [error, id]
    );
    return result.rows[0];
}
