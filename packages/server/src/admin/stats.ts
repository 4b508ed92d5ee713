import type { Server } from '@hapi/hapi';
import { JOB_STATUSES, type JobStatus } from '@collab/protocol';
import { readWorkers } from '@collab/core';

import { socketCounts } from '../realtime/census.js';

async function count(server: Server, table: string): Promise<number> {
    const [row] = await server.app.db(table).count({ n: '*' });
    return Number(row!.n);
}

/** `GET /api/admin/stats/`: the whole system at a glance. */
export async function systemStats(server: Server) {
    const { db, redis, config } = server.app;
    const [users, projects, workspaces, byStatus, sockets, workers] = await Promise.all([
        count(server, 'users'),
        count(server, 'projects'),
        count(server, 'workspaces'),
        db('jobs').select('status').count({ n: '*' }).groupBy('status') as Promise<Array<{ status: JobStatus; n: string | number }>>,
        socketCounts(server),
        readWorkers(redis, config.redisPrefix)
    ]);

    const jobs = Object.fromEntries(JOB_STATUSES.map((status) => [status, 0])) as Record<JobStatus, number>;
    for (const row of byStatus) {
        jobs[row.status] = Number(row.n);
    }

    return {
        users,
        projects,
        workspaces,
        sockets,
        jobs,
        workers: workers.map((worker) => ({
            id: worker.id,
            languages: worker.languages,
            concurrency: worker.concurrency,
            running: worker.running,
            last_seen: new Date(worker.last_seen).toISOString()
        }))
    };
}
