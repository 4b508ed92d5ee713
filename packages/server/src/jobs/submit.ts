import { createHash } from 'node:crypto';

import Boom from '@hapi/boom';
import type { Knex } from 'knex';
import { JOB_LIMITS, type JobStatus } from '@collab/protocol';
import { newJobId } from '@collab/core';

/** A validated submit body, defaults applied. */
export interface SubmitBody {
    code: string;
    language: string;
    stdin?: string;
    workspace_id?: number | null;
    timeout_ms: number;
    memory_mb: number;
}

/** The hash that tells whether two submits under one idempotency key are the same. */
export function bodyHash(body: SubmitBody): string {
    const canonical = [body.code, body.language, body.stdin ?? null, body.workspace_id ?? null, body.timeout_ms, body.memory_mb];
    return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/** Seconds a refused submit is told to wait when none of the user's jobs is running: a default job's time limit. */
const IDLE_RETRY_AFTER_S = Math.ceil(JOB_LIMITS.defaultTimeoutMs / 1000);

/** The longest wait `Retry-After` asks for: the longest a job may run. */
const MAX_RETRY_AFTER_S = Math.ceil(JOB_LIMITS.maxTimeoutMs / 1000);

/**
 * 429 for a user at their quota. `Retry-After` is the time until the first of
 * their running jobs reaches its time limit, when it ends at the latest and
 * frees a slot (1 s at least, 60 s at most); with only queued jobs, the
 * default time limit (10 s), about one job's run once a worker takes it.
 */
function quotaExceeded(limit: number, soonestEndS: number | null): Boom.Boom {
    const error = Boom.tooManyRequests(`You have ${limit} jobs queued or running, the most allowed; submit again once one ends`);
    const wait = soonestEndS === null ? IDLE_RETRY_AFTER_S : Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(soonestEndS)));
    error.output.headers['Retry-After'] = String(wait);
    return error;
}

/** What a submit did: `created` a job, found the `existing` one of its idempotency key, or was `refused` at the quota. */
interface SubmitOutcome {
    outcome: 'created' | 'existing' | 'refused';
    job_id: string | null;
    job_status: JobStatus | null;
    job_workspace_id: number | null;
    job_body_hash: string | null;
    soonest_end_s: number | null;
}

/** The part of a job a submit answers with. */
export interface SubmittedJob {
    id: string;
    status: JobStatus;
    workspace_id: number | null;
}

/**
 * Inserts a queued job, within the user's quota of `limit` active jobs
 * (429 beyond it, nothing inserted), in one round trip: the `submit_job`
 * database function locks the user's row for its transaction, so the submits
 * of one user run one at a time: concurrent submits cannot pass the quota
 * together, and of concurrent submits under one idempotency key the first
 * creates the job and the others get it back (`created: false`, even at the
 * quota), or 409 when their body differs. A key older than 24 h is released
 * and reused.
 */
export async function insertJob(db: Knex, userId: number, body: SubmitBody, options: { key?: string; limit: number }): Promise<{ job: SubmittedJob; created: boolean }> {
    const { key, limit } = options;
    const hash = key ? bodyHash(body) : null;
    const { rows } = await db.raw<{ rows: SubmitOutcome[] }>('SELECT * FROM submit_job(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
        newJobId(), userId, body.workspace_id ?? null, body.language, body.code, body.stdin ?? null,
        body.timeout_ms, body.memory_mb, key ?? null, hash, limit
    ]);
    const result = rows[0]!;
    if (result.outcome === 'refused') {
        throw quotaExceeded(limit, result.soonest_end_s);
    }
    if (result.outcome === 'existing' && result.job_body_hash !== hash) {
        throw Boom.conflict('This Idempotency-Key was already used with another body');
    }

    return { job: { id: result.job_id!, status: result.job_status!, workspace_id: result.job_workspace_id }, created: result.outcome === 'created' };
}
