import Boom from '@hapi/boom';
import { languagesOf, readWorkers, type LiveLanguage, type RedisClient } from '@collab/core';

/**
 * The languages live workers advertise in Redis, cached for a second so a
 * burst of submits costs one read. While Redis is down, submits use the last
 * list read.
 */
export class LanguageCache {
    #known: LiveLanguage[] | undefined;
    #readAt = 0;

    constructor(private readonly redis: RedisClient, private readonly prefix: string, private readonly ttlMs = 1000) {}

    /** Reads the adverts now; 503 when Redis does not answer. */
    async fresh(): Promise<LiveLanguage[]> {
        try {
            this.#known = languagesOf(await readWorkers(this.redis, this.prefix));
            this.#readAt = Date.now();
            return this.#known;
        }
        catch {
            throw Boom.serverUnavailable('Redis is unavailable: the live workers are unknown');
        }
    }

    /**
     * Whether live workers run `language`, with the list they run. A cached
     * hit is trusted for the TTL; a miss is always read again, so a worker
     * that just started is never refused.
     */
    async check(language: string): Promise<{ live: boolean; languages: LiveLanguage[] }> {
        const cached = this.#known && Date.now() - this.#readAt < this.ttlMs ? this.#known : undefined;
        const languages = cached?.some((entry) => entry.language === language) ? cached : await this.get();
        return { live: languages.some((entry) => entry.language === language), languages };
    }

    /** A fresh list; the last known one while Redis is down (503 if there is none). */
    async get(): Promise<LiveLanguage[]> {
        try {
            return await this.fresh();
        }
        catch (error) {
            if (this.#known) {
                return this.#known;
            }

            throw error;
        }
    }
}
