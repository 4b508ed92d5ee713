import { advertiseWorker, withdrawWorker, WORKER_HEARTBEAT_MS, WORKER_TTL_MS, type Logger, type WorkerAdvert } from '@collab/core';
import type { Redis } from 'ioredis';

/** Options of {@link startHeartbeat}. */
export interface HeartbeatOptions {
    redis: Redis;
    prefix: string;
    /** The advert as of now (its `running` changes). */
    advert: () => WorkerAdvert;
    logger: Logger;
    intervalMs?: number;
    ttlMs?: number;
}

/** Advertises the worker now and then every interval; `stop()` withdraws the advert. */
export async function startHeartbeat(options: HeartbeatOptions): Promise<{ stop(): Promise<void> }> {
    const { redis, prefix, logger } = options;
    const ttl = options.ttlMs ?? WORKER_TTL_MS;
    const beat = () => advertiseWorker(redis, prefix, options.advert(), ttl);
    // Without Redis at start-up the worker still starts; the next beats advertise it.
    await beat().catch((error: Error) => logger.warn({ err: error.message }, 'cannot advertise the worker'));
    const timer = setInterval(() => {
        beat().catch((error: Error) => logger.warn({ err: error.message }, 'worker heartbeat failed'));
    }, options.intervalMs ?? WORKER_HEARTBEAT_MS);
    timer.unref();
    // A Redis that restarted empty hears from this worker at once, not a heartbeat later.
    const onReady = () => void beat().catch(() => undefined);
    redis.on('ready', onReady);
    return {
        stop: async () => {
            clearInterval(timer);
            redis.off('ready', onReady);
            await withdrawWorker(redis, prefix, options.advert().id).catch(() => undefined);
        },
    };
}
