/** Name of the BullMQ queue of jobs (BullMQ forbids `:` in it; the prefix carries the deployment's). */
export const JOB_QUEUE_NAME = 'jobs';

/**
 * Redis names of the job system under a deployment prefix such as `collab:`.
 * BullMQ keys are `<prefix>bull:jobs:*` on one Redis and `{<prefix>bull}:jobs:*`
 * on a Redis Cluster, where BullMQ needs every key of a queue in one slot
 * (BullMQ `prefix` option: {@link jobKeys}`.bullPrefix`). One Redis keeps the
 * untagged name so a running deployment's queued jobs stay where they are.
 * The worker registry shares the `{workers}` tag so it is written and read
 * in one command on a cluster too.
 */
export function jobKeys(prefix: string, cluster = false) {
    return {
        /** The BullMQ `prefix` option of the queue and its workers. */
        bullPrefix: cluster ? `{${prefix}bull}` : `${prefix}bull`,
        /** String (JSON {@link WorkerAdvert}) with a TTL, one per live worker. */
        worker: (workerId: string) => `${prefix}jobs:{workers}:${workerId}`,
        /** Set of worker ids that advertised; members whose key expired are dead. */
        workers: `${prefix}jobs:{workers}`,
        /** Short-lived lock held by the worker whose reconciler runs. */
        reconcilerLock: `${prefix}jobs:reconciler-lock`,
        /** Pub/sub (cluster-wide): a job id to kill and cancel, heard by every worker. */
        cancelChannel: `${prefix}jobs:cancel`,
        /** Pub/sub (sharded on a cluster): {@link JobUpdate}s (status changes and output) of one job. */
        updates: (jobId: string) => `${prefix}jobs:updates:${jobId}`,
        updatesPrefix: `${prefix}jobs:updates:`
    };
}

/** What a live worker advertises; admin stats show it. */
export interface WorkerAdvert {
    id: string;
    /** Languages it can run, sorted. */
    languages: string[];
    /** Interpreter version per language. */
    versions: Record<string, string>;
    concurrency: number;
    /** Jobs it runs right now. */
    running: number;
    /** ISO 8601 time of its last heartbeat. */
    last_seen: string;
}
