import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import {
    connect,
    createLogger,
    EventBus,
    JOB_ATTEMPTS,
    JOB_QUEUE_NAME,
    jobKeys,
    retryDelayMs,
    type Logger,
    type WorkerAdvert,
} from '@collab/core';
import { Queue, Worker, type Job as BullJob } from 'bullmq';
import { Redis } from 'ioredis';

import { listenForCancels } from './cancel.js';
import { startHeartbeat } from './heartbeat.js';
import { resolveOptions, type StartWorkerOptions } from './options.js';
import { createProcessor, type AbortReason } from './processor.js';
import { JobPublisher } from './publisher.js';
import { Reconciler, type ReconcileReport } from './reconciler.js';
import { discoverLanguages, SandboxStartError, sweepStaleJobDirs } from './sandbox/index.js';
import { findBwrap } from './sandbox/command.js';
import { setUpSandboxHost } from './sandbox/setup.js';
import { failJob, JOB_ERRORS } from './store.js';

/** A running worker. */
export interface WorkerHandle {
    /** Unique id, as advertised in Redis. */
    readonly id: string;
    /** Languages this worker advertises. */
    readonly languages: ReadonlyArray<{ language: string; version: string }>;
    /** Jobs running right now. */
    running(): number;
    /** Runs one reconciler pass now (if this worker is the leader). */
    reconcile(): Promise<ReconcileReport>;
    /**
     * Stops taking jobs, lets running ones finish within the grace period,
     * re-queues the rest, withdraws the advert and closes every connection it opened.
     */
    close(): Promise<void>;
}

function isFinalFailure(job: BullJob, error: Error): boolean {
    return error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
}

/**
 * Starts a job worker: a BullMQ worker on the deployment's queue, the
 * advert and cancel listener in Redis, and the reconciler. Throws
 * SandboxStartError when the sandbox is `bwrap` and bubblewrap is missing,
 * or in production when the host cannot give each job its own cgroup.
 */
export async function startWorker(input: StartWorkerOptions): Promise<WorkerHandle> {
    const options = resolveOptions(input, `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`);
    const { config, id } = options;
    const mode = config.sandbox;
    if (mode === 'bwrap' && !findBwrap()) {
        throw new SandboxStartError('bwrap (bubblewrap) is not installed; install it or set COLLAB_SANDBOX=none for development');
    }

    const logger: Logger = (options.logger ?? createLogger(config.logLevel, 'collab-worker')).child({ worker: id });
    setUpSandboxHost({ config, cgroupRoot: options.cgroupRoot, logger });
    sweepStaleJobDirs().then(
        (removed) => removed.length > 0 && logger.info({ removed: removed.length }, 'removed job directories left by stopped workers'),
        (error: Error) => logger.warn({ err: error.message }, 'cannot sweep stale job directories'),
    );
    const prefix = config.redisPrefix;
    const keys = jobKeys(prefix);
    const db = options.db ?? connect(config, options.concurrency + 4);
    // Commands fail fast while Redis is down (live updates are best effort); the subscriber waits.
    const redis = new Redis(config.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    const subscriber = new Redis(config.redisUrl, { lazyConnect: true });
    for (const [name, client] of [['commands', redis], ['subscriber', subscriber]] as const) {
        client.on('error', (error: Error) => logger.debug({ err: error.message, connection: name }, 'redis connection error'));
    }
    await Promise.all([redis.connect(), subscriber.connect()]).catch((error: Error) => {
        logger.warn({ err: error.message }, 'Redis is not reachable yet; retrying in the background');
    });

    const bus = new EventBus({ redis, subscriber, prefix, instanceId: `worker:${id}`, onError: (error) => logger.warn({ err: error.message }, 'event bus error') });
    const publisher = new JobPublisher({ redis, bus, prefix, logger });
    const running = new Map<string, AbortController>();
    const stopCancels = await listenForCancels(subscriber, prefix, running);
    const languages = await discoverLanguages();

    const connection = { url: config.redisUrl };
    const queue = new Queue(JOB_QUEUE_NAME, { connection: { ...connection, enableOfflineQueue: false }, prefix: keys.bullPrefix });
    queue.on('error', (error: Error) => logger.debug({ err: error.message }, 'queue error'));
    const worker = new Worker(JOB_QUEUE_NAME, createProcessor({ db, mode, publisher, logger, running }), {
        connection,
        prefix: keys.bullPrefix,
        name: id,
        concurrency: options.concurrency,
        lockDuration: options.lockDurationMs,
        stalledInterval: options.stalledIntervalMs,
        // Together with the retries of thrown errors, a worker's death is retried up to JOB_ATTEMPTS starts.
        maxStalledCount: JOB_ATTEMPTS - 1,
        settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade) },
    });
    worker.on('error', (error: Error) => logger.debug({ err: error.message }, 'worker error'));
    worker.on('failed', (job: BullJob | undefined, error: Error) => {
        if (!job) {
            return;
        }
        if (!isFinalFailure(job, error)) {
            logger.warn({ job_id: job.id, err: error.message, attempt: job.attemptsMade }, 'job attempt failed; it will be retried');
            return;
        }
        const message = JOB_ERRORS.systemFailure(job.attemptsMade);
        logger.error({ job_id: job.id, err: error.message }, 'job failed for good');
        failJob(db, (job.data as { job_id: string }).job_id, message)
            .then((owner) => owner && publisher.status(owner, 'error', null, message))
            .catch((failure: Error) => logger.warn({ job_id: job.id, err: failure.message }, 'cannot record the failure; the reconciler will'));
    });

    const advert = (): WorkerAdvert => ({
        id,
        languages: languages.map((entry) => entry.language).sort(),
        versions: Object.fromEntries(languages.map((entry) => [entry.language, entry.version])),
        concurrency: options.concurrency,
        running: running.size,
        last_seen: new Date().toISOString(),
    });
    const heartbeat = await startHeartbeat({ redis, prefix, advert, logger, intervalMs: options.heartbeatMs });
    const reconciler = new Reconciler({
        db,
        redis,
        queue,
        prefix,
        workerId: id,
        publisher,
        logger,
        intervalMs: options.reconcileIntervalMs,
        queuedAgeMs: options.queuedAgeMs,
        runningGraceMs: options.runningGraceMs,
    });
    reconciler.start();
    logger.info({ concurrency: options.concurrency, languages: advert().languages, sandbox: mode }, 'worker started');

    let closing: Promise<void> | undefined;
    const close = async (): Promise<void> => {
        await heartbeat.stop();
        const grace = setTimeout(() => {
            for (const controller of running.values()) {
                controller.abort('shutdown' satisfies AbortReason);
            }
        }, options.graceMs);
        try {
            await worker.close();
        } finally {
            clearTimeout(grace);
        }
        await reconciler.close();
        await stopCancels();
        await bus.close();
        await queue.close();
        await Promise.all([redis, subscriber].map((client) => client.quit().catch(() => client.disconnect())));
        if (!options.db) {
            await db.destroy();
        }
        logger.info('worker stopped');
    };

    return {
        id,
        languages,
        running: () => running.size,
        reconcile: () => reconciler.runOnce(),
        close: () => (closing ??= close()),
    };
}
