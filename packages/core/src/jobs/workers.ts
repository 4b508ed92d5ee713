import type { RedisClient } from '../redis/client.js';

import { jobKeys, type WorkerAdvert } from './keys.js';

/** A worker's advert lives this long after its last heartbeat. */
export const WORKER_TTL_MS = 15_000;

/** How often a worker renews its advert. */
export const WORKER_HEARTBEAT_MS = 5_000;

/** Writes (or renews) a worker's advert with a TTL. */
export async function advertiseWorker(redis: RedisClient, prefix: string, advert: WorkerAdvert, ttlMs = WORKER_TTL_MS): Promise<void> {
    const keys = jobKeys(prefix);
    await redis.multi()
        .set(keys.worker(advert.id), JSON.stringify(advert), 'PX', ttlMs)
        .sadd(keys.workers, advert.id)
        .exec();
}

/** Removes a worker's advert at once (clean shutdown). */
export async function withdrawWorker(redis: RedisClient, prefix: string, workerId: string): Promise<void> {
    const keys = jobKeys(prefix);
    await redis.multi().del(keys.worker(workerId)).srem(keys.workers, workerId).exec();
}

/** The adverts of live workers; forgets workers whose advert expired. */
export async function readWorkers(redis: RedisClient, prefix: string): Promise<WorkerAdvert[]> {
    const keys = jobKeys(prefix);
    const ids = await redis.smembers(keys.workers);
    if (ids.length === 0) {
        return [];
    }

    const values = await redis.mget(ids.map(keys.worker));
    const dead = ids.filter((_, i) => values[i] === null);
    if (dead.length > 0) {
        await redis.srem(keys.workers, ...dead);
    }

    return values.flatMap((value) => {
        try {
            return value === null ? [] : [JSON.parse(value) as WorkerAdvert];
        }
        catch {
            return [];
        }
    }).sort((a, b) => a.id.localeCompare(b.id));
}

/** A language live workers can run, as `GET /api/jobs/languages/` lists it. */
export interface LiveLanguage {
    language: string;
    version: string;
}

/** Distinct `{language, version}` pairs of the given adverts, sorted. */
export function languagesOf(adverts: readonly WorkerAdvert[]): LiveLanguage[] {
    const seen = new Map<string, LiveLanguage>();
    for (const advert of adverts) {
        for (const language of advert.languages) {
            const version = advert.versions[language] ?? '';
            seen.set(`${language}\n${version}`, { language, version });
        }
    }

    return [...seen.values()].sort((a, b) => a.language.localeCompare(b.language) || a.version.localeCompare(b.version));
}
