import type { Config, Logger } from '@collab/core';
import type { Knex } from 'knex';

import { startWorker, type WorkerHandle } from './worker.js';

/** Most grace the embedded worker takes: less than the API's own drain, which waits for it. */
const EMBEDDED_GRACE_MS = 5_000;

/**
 * The worker `npm start` runs next to the API, on its database (close it
 * before the server stops: the server closes that database). A worker that
 * cannot start (bubblewrap missing) is logged, not fatal: the API still
 * serves, and lists no language for jobs.
 */
export async function startEmbeddedWorker(options: { config: Config; db: Knex; logger?: Logger }): Promise<{ close(): Promise<void> }> {
    let handle: WorkerHandle;
    try {
        handle = await startWorker({ ...options, graceMs: Math.min(options.config.worker.graceMs, EMBEDDED_GRACE_MS) });
    }
    catch (error) {
        options.logger?.error({ err: (error as Error).message }, 'the job worker did not start; jobs cannot run');
        return { close: async () => undefined };
    }
    return { close: () => handle.close() };
}
