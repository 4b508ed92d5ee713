import { LuaScript, type RedisClient } from '@collab/core';

// One round trip, atomic: concurrent hits on any number of instances each get their own count.
// The PTTL check (rather than PEXPIRE NX) also works on Redis < 7 and repairs a key left without expiry.
const HIT = new LuaScript(`
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {count, redis.call('PTTL', KEYS[1])}
`);

/** A hit on a fixed window: how many hits the window holds now, and when it ends. */
export interface WindowHit {
    count: number;
    /** Epoch milliseconds when the window ends. */
    resetAt: number;
}

/**
 * Fixed-window counters in Redis that count atomically (INCR and PEXPIRE in
 * one Lua script, one key per counter, so they also work on a cluster): every
 * hit gets a count of its own, so concurrent requests on any number of
 * instances never overshoot a limit. A window starts with its first hit.
 *
 * It owns its client (connected by `start()`, closed by `stop()`) and fails
 * open: a hit Redis does not answer counts nothing. `onHealth` hears each
 * change between answering and not answering, not every error.
 */
export class FixedWindowCounter {
    readonly #client: RedisClient;
    readonly #windowMs: number;
    readonly #onHealth: (healthy: boolean, err?: Error) => void;
    #healthy = true;

    constructor(client: RedisClient, windowMs: number, onHealth: (healthy: boolean, err?: Error) => void = () => {}) {
        this.#client = client;
        this.#windowMs = windowMs;
        this.#onHealth = onHealth;
    }

    /** Connects; a Redis that does not answer is reported, not thrown (the client keeps reconnecting). */
    async start(): Promise<void> {
        if (this.#client.status === 'wait') {
            await this.#client.connect().catch((err: Error) => this.#report(err));
        }
    }

    stop(): void {
        this.#client.disconnect();
    }

    /** Counts a hit on `key`; `null` when Redis did not answer (the caller fails open). */
    async hit(key: string): Promise<WindowHit | null> {
        try {
            const [count, ttl] = await HIT.run(this.#client, [key], [this.#windowMs]) as [number, number];
            this.#report();
            return { count, resetAt: Date.now() + (ttl > 0 ? ttl : this.#windowMs) };
        }
        catch (err) {
            this.#report(err as Error);
            return null;
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
