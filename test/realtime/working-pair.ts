import type { Config } from '@collab/core';
import { startWorker, type WorkerHandle } from '@collab/worker';

import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { makeTeam, startServer, until, type RealtimeServer, type Team } from './helpers.js';

/** Two in-process server instances and a worker on one fresh database, with a team. */
export interface WorkingPair {
    database: TestDatabase;
    a: RealtimeServer;
    b: RealtimeServer;
    worker: WorkerHandle;
    team: Team;
    /** Stops the worker and both instances, then drops the database. */
    stop(): Promise<void>;
}

/** Starts a {@link WorkingPair} on `config` and resolves once the worker is advertised; stops what started when a step fails. */
export async function startWorkingPair(config: Config): Promise<WorkingPair> {
    const database = await createTestDatabase();
    const started: { a?: RealtimeServer; b?: RealtimeServer; worker?: WorkerHandle } = {};
    const stop = async () => {
        await started.worker?.close();
        await Promise.all([started.a?.stop(), started.b?.stop()]);
        await database.drop();
    };

    try {
        const [a, b] = await Promise.all([startServer({ config, database }), startServer({ config, database })]);
        Object.assign(started, { a, b });
        const worker = started.worker = await startWorker({ config, db: database.db, concurrency: 2 });
        const team = await makeTeam(a);
        // The worker's first advert can race the cluster's first connection; it advertises again within a heartbeat.
        await until(async () => JSON.stringify((await a.http('GET', '/api/jobs/languages/', team.owner.access)).result).includes('python'), 15_000, 'the worker to advertise');
        return { database, a, b, worker, team, stop };
    }
    catch (err) {
        await stop().catch(() => undefined);
        throw err;
    }
}
