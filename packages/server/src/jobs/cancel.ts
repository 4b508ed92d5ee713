import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import { isTerminal, JOB_EVENTS, type JobStatus, type JobUpdate } from '@collab/protocol';
import { Job, jobKeys, User } from '@collab/core';

import type { AuthUser } from '../context.js';

/** What a cancel did: `cancelled` at once (it was queued), or `running` with the kill requested. */
export interface CancelResult {
    job_id: string;
    status: JobStatus;
    message: string;
}

async function announce(server: Server, job: Job, user: AuthUser): Promise<void> {
    const update: JobUpdate = { type: 'status', job_id: job.id, status: 'cancelled', attempts: job.attempts, exit_code: null, error: null, job: job.toApi() };
    const sends: Promise<unknown>[] = [server.plugins['collab-jobs'].relay.publish(update)];
    if (job.workspace_id !== null) {
        sends.push(server.app.bus.publish(job.workspace_id, { event: JOB_EVENTS.finished, payload: { job_id: job.id, status: 'cancelled', exit_code: null }, user: user.email, user_id: user.id }));
    }

    await Promise.allSettled(sends);
}

/**
 * Cancels a job for its submitter. A queued job becomes `cancelled` at once
 * and leaves the queue. A running one is marked (so whichever worker claims
 * it next cancels it instead) and its worker is told to kill it, then writes
 * `cancelled`. 404 when the caller cannot see it, 403 when they did not
 * submit it, 409 when it already ended.
 */
export async function cancelJob(server: Server, jobId: string, user: AuthUser): Promise<CancelResult> {
    const db = server.app.db;
    const jobs = server.plugins['collab-jobs'];
    for (let round = 0; round < 3; round++) {
        const job = await Job.query(db).modify('visibleTo', user.id).findById(jobId);
        if (!job) {
            throw Boom.notFound('Job not found');
        }

        if (job.user_id !== user.id) {
            throw Boom.forbidden('Only the submitter may cancel this job');
        }

        if (isTerminal(job.status)) {
            throw Boom.conflict(`The job already ended (${job.status})`);
        }

        if (job.status === 'queued') {
            const [cancelled] = await Job.query(db).patch({ status: 'cancelled', finished_at: new Date().toISOString() })
                .where({ id: jobId, status: 'queued' }).returning('*') as unknown as Job[];
            if (cancelled) {
                await jobs.producer.remove(jobId);
                await announce(server, cancelled, user);
                return { job_id: jobId, status: 'cancelled', message: 'Job cancelled' };
            }

            continue;
        }

        const [marked] = await Job.query(db).patch({ cancel_requested_at: db.raw('coalesce(cancel_requested_at, now())') as unknown as string })
            .where({ id: jobId, status: 'running' }).returning('id') as unknown as Job[];
        if (marked) {
            await server.app.redis.publish(jobKeys(server.app.config.redisPrefix).cancelChannel, jobId).catch(() => undefined);
            return { job_id: jobId, status: 'running', message: 'Cancellation requested: the program is being killed' };
        }
    }

    throw Boom.conflict('The job changed while it was being cancelled; retry');
}

/** Cancels every queued job of a user (an admin deactivating the account), announcing each. Returns their ids. */
export async function cancelQueuedJobsOf(server: Server, userId: number): Promise<string[]> {
    const db = server.app.db;
    const rows = await Job.query(db).patch({ status: 'cancelled', finished_at: new Date().toISOString() })
        .where({ user_id: userId, status: 'queued' }).returning('*') as unknown as Job[];
    const owner = rows.length > 0 ? await User.query(db).select('id', 'email').findById(userId) : undefined;
    const jobs = server.plugins['collab-jobs'];
    await Promise.all(rows.map(async (row) => {
        await jobs.producer.remove(row.id);
        if (owner) {
            await announce(server, row, { id: owner.id, email: owner.email });
        }
    }));
    return rows.map((row) => row.id);
}
