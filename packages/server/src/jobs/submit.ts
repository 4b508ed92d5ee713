import { createHash } from 'node:crypto';

import Boom from '@hapi/boom';
import { Job, newJobId } from '@collab/core';
import type { Knex } from 'knex';

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

/**
 * Inserts a queued job. With an idempotency key, the unique (user_id, key)
 * index makes concurrent duplicates resolve to one row: the loser of the
 * race finds the winner's job and gets it back (`created: false`), or 409
 * when its body differs. A key older than 24 h is released and reused.
 */
export async function insertJob(db: Knex, userId: number, body: SubmitBody, key?: string): Promise<{ job: Job; created: boolean }> {
    if (!key) {
        const [inserted] = await db('jobs').insert(row(userId, body, undefined)).returning('*');
        return { job: Job.fromDatabaseJson(inserted), created: true };
    }

    const hash = bodyHash(body);
    for (let round = 0; round < 3; round++) {
        const [inserted] = await db('jobs').insert(row(userId, body, key)).onConflict(['user_id', 'idempotency_key']).ignore().returning('*');
        if (inserted) {
            return { job: Job.fromDatabaseJson(inserted), created: true };
        }

        const existing = await db('jobs')
            .select('*', db.raw(`created_at < now() - interval '24 hours' AS expired`))
            .where({ user_id: userId, idempotency_key: key })
            .first() as (Record<string, unknown> & { expired: boolean; body_hash: string }) | undefined;
        if (!existing) {
            continue;
        }

        if (existing.expired) {
            await db('jobs').where({ id: existing.id, idempotency_key: key }).update({ idempotency_key: null });
            continue;
        }

        if (existing.body_hash !== hash) {
            throw Boom.conflict('This Idempotency-Key was already used with another body');
        }

        const { expired: _expired, ...columns } = existing;
        return { job: Job.fromDatabaseJson(columns), created: false };
    }

    throw Boom.conflict('This Idempotency-Key is in use by a concurrent request; retry');
}
