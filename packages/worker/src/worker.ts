import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import {
    closeRedis,
    connect,
    createLogger,
    createRedis,
    EventBus,
    isClusterMode,
    JOB_ATTEMPTS,
    JOB_QUEUE_NAME,
    jobKeys,
    PubSub,
    retryDelayMs,
    type Logger,
    type RedisClient,
    type WorkerAdvert
} from '@collab/core';
import { Queue, Worker, type Job as BullJob } from 'bullmq';
import type { Knex } from 'knex';

import { listenForCancels } from './cancel.js';
import { Heartbeat } from './heartbeat.js';
import type { Language } from './languages.js';
import { resolveOptions, type ResolvedWorkerOptions, type StartWorkerOptions } from './options.js';
import { createProcessor, type AbortReason } from './processor.js';
import { JobPublisher } from './publisher.js';
import { Reconciler, type ReconcileReport } from './reconciler.js';
import { discoverLanguages, SandboxStartError, sweepStaleJobDirs, warmForkServers, type CgroupHost } from './sandbox/index.js';
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
 * Runs jobs from the deployment's queue: a BullMQ worker whose processor
 * runs each program in the sandbox, the worker's advert (heartbeat) and
 * cancel listener in Redis, and the reconciler it runs when it is the
 * leader. The constructor checks the sandbox and opens the connections;
 * {@link start} takes jobs; {@link close} drains.
 */
class JobWorker implements WorkerHandle {
    readonly id: string;
    private readonly options: ResolvedWorkerOptions;
    private readonly logger: Logger;
    private readonly cgroups: CgroupHost | undefined;
    private readonly db: Knex;
    private readonly redis: RedisClient;
    private readonly subscriber: RedisClient;
    /** BullMQ's: the queue's (fails fast while Redis is down) and the worker's (waits). */
    private readonly queueConnection: RedisClient;
    private readonly workerConnection: RedisClient;
    private readonly connected: Promise<void>;
    private readonly bus: EventBus;
    private readonly publisher: JobPublisher;
    private readonly queue: Queue;
    private readonly worker: Worker;
    private readonly heartbeat: Heartbeat;
    private readonly reconciler: Reconciler;
    /** Runs in progress, by job id: cancel and shutdown abort them. */
    private readonly inProgress = new Map<string, AbortController>();
    private found: Array<{ language: Language; version: string }> = [];
    private stopCancels: (() => Promise<void>) | undefined;
    private closing: Promise<void> | undefined;

    /**
     * Throws SandboxStartError when the sandbox is `bwrap` and bubblewrap is
     * missing, or in production when the host cannot give each job its own cgroup.
     */
    constructor(input: StartWorkerOptions) {
        this.options = resolveOptions(input, `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`);
        const { config, id } = this.options;
        this.id = id;
        if (config.sandbox === 'bwrap' && !findBwrap()) {
            throw new SandboxStartError('bwrap (bubblewrap) is not installed; install it or set COLLAB_SANDBOX=none for development');
        }

        this.logger = (this.options.logger ?? createLogger(config.logLevel, 'collab-worker')).child({ worker: id });
        this.cgroups = setUpSandboxHost({ config, cgroupRoot: this.options.cgroupRoot, logger: this.logger });
        const prefix = config.redisPrefix;
        this.db = this.options.db ?? connect(config, this.options.concurrency + 4);
        // Commands fail fast while Redis is down (live updates are best effort); the subscriber waits.
        this.redis = createRedis(config, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
        this.subscriber = createRedis(config, { lazyConnect: true });
        this.queueConnection = createRedis(config, { enableOfflineQueue: false });
        this.workerConnection = createRedis(config, { maxRetriesPerRequest: null });
        const connections = [['commands', this.redis], ['subscriber', this.subscriber], ['queue', this.queueConnection], ['worker', this.workerConnection]] as const;
        for (const [name, client] of connections) {
            client.on('error', (error: Error) => this.logger.debug({ err: error.message, connection: name }, 'redis connection error'));
        }
        this.connected = Promise.all([this.redis.connect(), this.subscriber.connect()])
            .then(() => undefined)
            .catch((error: Error) => this.logger.warn({ err: error.message }, 'Redis is not reachable yet; retrying in the background'));

        this.bus = new EventBus({
            redis: this.redis,
            subscriber: this.subscriber,
            prefix,
            instanceId: `worker:${id}`,
            onError: (error) => this.logger.warn({ err: error.message }, 'event bus error')
        });
        this.publisher = new JobPublisher({ updates: new PubSub('shard', this.redis), bus: this.bus, prefix, logger: this.logger });
        const bullPrefix = jobKeys(prefix, isClusterMode(config)).bullPrefix;
        this.queue = new Queue(JOB_QUEUE_NAME, { connection: this.queueConnection, prefix: bullPrefix });
        this.queue.on('error', (error: Error) => this.logger.debug({ err: error.message }, 'queue error'));
        this.worker = this.bullWorker(bullPrefix);

        this.heartbeat = new Heartbeat({ redis: this.redis, prefix, advert: () => this.advert(), logger: this.logger, intervalMs: this.options.heartbeatMs });
        this.reconciler = new Reconciler({
            db: this.db,
            redis: this.redis,
            queue: this.queue,
            prefix,
            workerId: id,
            publisher: this.publisher,
            logger: this.logger,
            intervalMs: this.options.reconcileIntervalMs,
            queuedAgeMs: this.options.queuedAgeMs,
            runningGraceMs: this.options.runningGraceMs
        });
    }

    get languages(): ReadonlyArray<{ language: Language; version: string }> {
        return this.found;
    }

    /** Waits for Redis, finds the languages of this host, and starts taking jobs, advertising and reconciling. */
    async start(): Promise<void> {
        sweepStaleJobDirs()
            .then((removed) => removed.length > 0 && this.logger.info({ removed: removed.length }, 'removed job directories left by stopped workers'))
            .catch((error: Error) => this.logger.warn({ err: error.message }, 'cannot sweep stale job directories'));
        await this.connected;
        this.stopCancels = await listenForCancels(this.subscriber, this.options.config.redisPrefix, this.inProgress);
        this.found = await discoverLanguages();
        const { config } = this.options;
        if (config.sandbox === 'bwrap' && config.sandboxMode === 'forkserver') {
            warmForkServers(findBwrap()!);
        }
        // As BullMQ's autorun does, once this worker can say which languages it runs.
        this.worker.run().catch((error: Error) => this.worker.emit('error', error));
        await this.heartbeat.start();
        this.reconciler.start();
        this.logger.info({ concurrency: this.options.concurrency, languages: this.advert().languages, sandbox: this.options.config.sandbox }, 'worker started');
    }

    running(): number {
        return this.inProgress.size;
    }

    reconcile(): Promise<ReconcileReport> {
        return this.reconciler.runOnce();
    }

    close(): Promise<void> {
        return (this.closing ??= this.drain());
    }

    private bullWorker(bullPrefix: string): Worker {
        const { config } = this.options;
        const processor = createProcessor({
            db: this.db,
            mode: config.sandbox,
            start: config.sandboxMode,
            cgroups: this.cgroups,
            diskMb: config.sandboxDiskMb,
            publisher: this.publisher,
            logger: this.logger,
            running: this.inProgress
        });
        const worker = new Worker(JOB_QUEUE_NAME, processor, {
            autorun: false,
            connection: this.workerConnection,
            prefix: bullPrefix,
            name: this.id,
            concurrency: this.options.concurrency,
            lockDuration: this.options.lockDurationMs,
            stalledInterval: this.options.stalledIntervalMs,
            // Together with the retries of thrown errors, a worker's death is retried up to JOB_ATTEMPTS starts.
            maxStalledCount: JOB_ATTEMPTS - 1,
            settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade) }
        });
        worker.on('error', (error: Error) => this.logger.debug({ err: error.message }, 'worker error'));
        worker.on('failed', (job: BullJob | undefined, error: Error) => this.onFailed(job, error));
        return worker;
    }

    private advert(): WorkerAdvert {
        return {
            id: this.id,
            languages: this.found.map((entry) => entry.language).sort(),
            versions: Object.fromEntries(this.found.map((entry) => [entry.language, entry.version])),
            concurrency: this.options.concurrency,
            running: this.inProgress.size,
            last_seen: new Date().toISOString()
        };
    }

    private onFailed(job: BullJob | undefined, error: Error): void {
        if (!job) {
            return;
        }
        if (!isFinalFailure(job, error)) {
            this.logger.warn({ job_id: job.id, err: error.message, attempt: job.attemptsMade }, 'job attempt failed; it will be retried');
            return;
        }
        const message = JOB_ERRORS.systemFailure(job.attemptsMade);
        this.logger.error({ job_id: job.id, err: error.message }, 'job failed for good');
        failJob(this.db, (job.data as { job_id: string }).job_id, message)
            .then((owner) => owner && this.publisher.status(owner, 'error', null, message))
            .catch((failure: Error) => this.logger.warn({ job_id: job.id, err: failure.message }, 'cannot record the failure; the reconciler will'));
    }

    private async drain(): Promise<void> {
        await this.heartbeat.close();
        const grace = setTimeout(() => {
            for (const controller of this.inProgress.values()) {
                controller.abort('shutdown' satisfies AbortReason);
            }
        }, this.options.graceMs);
        try {
            await this.worker.close();
        }
        finally {
            clearTimeout(grace);
        }
        await this.reconciler.close();
        await this.cgroups?.close();
        await this.stopCancels?.();
        await this.bus.close();
        await this.queue.close();
        await Promise.all([this.redis, this.subscriber, this.queueConnection, this.workerConnection].map(closeRedis));
        if (!this.options.db) {
            await this.db.destroy();
        }
        this.logger.info('worker stopped');
    }
}

/**
 * Starts a job worker (see {@link WorkerHandle}). Throws SandboxStartError
 * when the sandbox is `bwrap` and bubblewrap is missing, or in production
 * when the host cannot give each job its own cgroup; a worker that fails to
 * start closes what it opened.
 */
export async function startWorker(options: StartWorkerOptions): Promise<WorkerHandle> {
    const worker = new JobWorker(options);
    try {
        await worker.start();
    }
    catch (error) {
        await worker.close().catch(() => undefined);
        throw error;
    }
    return worker;
}
