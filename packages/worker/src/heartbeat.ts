import { advertiseWorker, withdrawWorker, WORKER_HEARTBEAT_MS, WORKER_TTL_MS, type Logger, type WorkerAdvert, type RedisClient } from '@collab/core';

/** Options of {@link Heartbeat}. */
export interface HeartbeatOptions {
    redis: RedisClient;
    prefix: string;
    /** The advert as of now (its `running` changes). */
    advert: () => WorkerAdvert;
    logger: Logger;
    intervalMs?: number;
    ttlMs?: number;
}

/** The worker's advert in Redis: renewed every interval from {@link start}, withdrawn by {@link close}. */
export class Heartbeat {
    private timer: ReturnType<typeof setInterval> | undefined;

    constructor(private readonly options: HeartbeatOptions) {}

    /** Advertises the worker now and then every interval. */
    async start(): Promise<void> {
        const { redis, logger } = this.options;
        // Without Redis at start-up the worker still starts; the next beats advertise it.
        await this.beat().catch((error: Error) => logger.warn({ err: error.message }, 'cannot advertise the worker'));
        this.timer = setInterval(() => {
            this.beat().catch((error: Error) => logger.warn({ err: error.message }, 'worker heartbeat failed'));
        }, this.options.intervalMs ?? WORKER_HEARTBEAT_MS);
        this.timer.unref();
        redis.on('ready', this.onReady);
    }

    /** Stops the beats and withdraws the advert. */
    async close(): Promise<void> {
        clearInterval(this.timer);
        this.options.redis.off('ready', this.onReady);
        await withdrawWorker(this.options.redis, this.options.prefix, this.options.advert().id).catch(() => undefined);
    }

    private beat(): Promise<void> {
        return advertiseWorker(this.options.redis, this.options.prefix, this.options.advert(), this.options.ttlMs ?? WORKER_TTL_MS);
    }

    // A Redis that restarted empty hears from this worker at once, not a heartbeat later.
    private readonly onReady = (): void => {
        this.beat().catch(() => undefined);
    };
}
