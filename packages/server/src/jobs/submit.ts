import { createHash } from 'node:crypto';

import Boom from '@hapi/boom';
import type { Knex } from 'knex';
import { JOB_LIMITS } from '@collab/protocol';
import { Job, newJobId } from '@collab/core';

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

function row(userId: number, body: SubmitBody, key: string | undefined) {
    return {
        id: newJobId(),
        user_id: userId,
        workspace_id: body.workspace_id ?? null,
        language: body.language,
        code: body.code,
        stdin: body.stdin ?? null,
        timeout_ms: body.timeout_ms,
        memory_mb: body.memory_mb,
        idempotency_key: key ?? null,
        body_hash: key ? bodyHash(body) : null
    };
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

/** Throws 429 unless the user has fewer than `limit` jobs queued or running. Run with the user's row locked. */
async function checkQuota(trx: Knex.Transaction, userId: number, limit: number): Promise<void> {
    const active = await trx('jobs')
        .where('user_id', userId)
        .whereIn('status', ['queued', 'running'])
        .first(
            trx.raw('count(*)::int AS count'),
            trx.raw('extract(epoch FROM min(started_at + timeout_ms * interval \'1 millisecond\') FILTER (WHERE status = \'running\') - now())::float8 AS soonest')
        ) as { count: number; soonest: number | null };
    if (active.count >= limit) {
        throw quotaExceeded(limit, active.soonest);
    }
}

type KeyedJob = Record<string, unknown> & { expired: boolean; body_hash: string };

/** The live job submitted under this key, after releasing a key older than 24 h; 409 when its body differs. */
async function keyed(trx: Knex.Transaction, userId: number, key: string, hash: string): Promise<Job | undefined> {
    const existing = await trx('jobs')
        .select('*', trx.raw('created_at < now() - interval \'24 hours\' AS expired'))
        .where({ user_id: userId, idempotency_key: key })
        .first() as KeyedJob | undefined;
    if (!existing) {
        return undefined;
    }

    if (existing.expired) {
        await trx('jobs').where({ id: existing.id, idempotency_key: key }).update({ idempotency_key: null });
        return undefined;
    }

    if (existing.body_hash !== hash) {
        throw Boom.conflict('This Idempotency-Key was already used with another body');
    }

    const { expired: _expired, ...columns } = existing;
    return Job.fromDatabaseJson(columns);
}

/**
 * Inserts a queued job, within the user's quota of `limit` active jobs
 * (429 beyond it, nothing inserted). The user's row is locked for the
 * transaction, so the submits of one user run one at a time: concurrent
 * submits cannot pass the quota together, and of concurrent submits under
 * one idempotency key the first creates the job and the others get it back
 * (`created: false`, even at the quota), or 409 when their body differs.
 * A key older than 24 h is released and reused.
 */
export async function insertJob(db: Knex, userId: number, body: SubmitBody, options: { key?: string; limit: number }): Promise<{ job: Job; created: boolean }> {
    const { key, limit } = options;
    return db.transaction(async (trx) => {
        await trx('users').select('id').where('id', userId).forUpdate();
        if (key) {
            const existing = await keyed(trx, userId, key, bodyHash(body));
            if (existing) {
                return { job: existing, created: false };
            }
        }

        await checkQuota(trx, userId, limit);
        const [inserted] = await trx('jobs').insert(row(userId, body, key)).returning('*') as Array<Record<string, unknown>>;
        return { job: Job.fromDatabaseJson(inserted!), created: true };
    });
}
