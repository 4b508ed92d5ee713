import { LuaScript } from '@collab/core';
import CatboxRedis from '@hapi/catbox-redis';
import type { Redis } from 'ioredis';

interface CacheKey {
    segment: string;
    id: string;
}

interface Envelope {
    item: unknown;
    stored: number;
    ttl: number;
}

// catbox-redis's envelope, counted up atomically: the count stays exact however many requests write at once.
const COUNT = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if current then
    local envelope = cjson.decode(current)
    envelope.item = envelope.item + 1
    redis.call('SET', KEYS[1], cjson.encode(envelope), 'KEEPTTL')
    return envelope.item
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

interface Engine {
    start(): Promise<void>;
    stop(): Promise<void>;
    validateSegmentName(name: string): Error | null;
    get(key: CacheKey): Promise<Envelope | null>;
    set(key: CacheKey, value: unknown, ttl: number): Promise<unknown>;
    drop(key: CacheKey): Promise<unknown>;
    generateKey(key: CacheKey): string;
}

/**
 * The catbox engine of hapi-rate-limit's counters: catbox-redis on a client of
 * its own, with two changes.
 *
 * - Storing a number counts one hit: the stored count goes up by one
 *   atomically, whatever value was given. hapi-rate-limit reads, adds one and
 *   writes back, and catbox joins concurrent reads of one key, so a burst of
 *   20 concurrent requests would otherwise be counted as a single one.
 *   Other values are stored as catbox-redis stores them.
 * - It fails open: when Redis does not answer, reads miss and writes are
 *   dropped, so requests go through unlimited instead of failing with 500;
 *   the limits come back with Redis (ioredis reconnects by itself).
 *
 * `onHealth` hears each change between answering and not answering, not every error.
 */
export class RateLimitStore {
    readonly #client: Redis;
    readonly #inner: Engine;
    readonly #onHealth: (healthy: boolean, err?: Error) => void;
    #healthy = true;

    constructor(client: Redis, onHealth: (healthy: boolean, err?: Error) => void) {
        this.#client = client;
        this.#inner = new CatboxRedis.Engine({ client: client as never }) as unknown as Engine;
        this.#onHealth = onHealth;
    }

    async start(): Promise<void> {
        await this.#inner.start();
        if (this.#client.status === 'wait') {
            await this.#client.connect().catch((err: Error) => this.#report(err));
        }
    }

    async stop(): Promise<void> {
        await this.#inner.stop();
        this.#client.disconnect();
    }

    /** Always ready: a Redis that is down reads as empty (fail open) rather than failing the request. */
    isReady(): boolean {
        return true;
    }

    validateSegmentName(name: string): Error | null {
        return this.#inner.validateSegmentName(name);
    }

    async get(key: CacheKey): Promise<Envelope | null> {
        try {
            const value = await this.#inner.get(key);
            this.#report();
            return value;
        }
        catch (err) {
            this.#report(err as Error);
            return null;
        }
    }

    async set(key: CacheKey, value: unknown, ttl: number): Promise<void> {
        try {
            if (typeof value === 'number') {
                const envelope = JSON.stringify({ item: 1, stored: Date.now(), ttl });
                await COUNT.run(this.#client, [this.#inner.generateKey(key)], [envelope, ttl]);
            }
            else {
                await this.#inner.set(key, value, ttl);
            }
        }
        catch (err) {
            this.#report(err as Error);
        }
    }

    async drop(key: CacheKey): Promise<void> {
        try {
            await this.#inner.drop(key);
        }
        catch (err) {
            this.#report(err as Error);
        }
    }

    #report(err?: Error): void {
        const healthy = !err;
        if (healthy !== this.#healthy) {
            this.#healthy = healthy;
            this.#onHealth(healthy, err);
        }
    }
}
