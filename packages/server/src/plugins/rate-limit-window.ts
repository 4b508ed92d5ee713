import { LuaScript } from '@collab/core';
import type { Redis } from 'ioredis';

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
 * one Lua script): unlike hapi-rate-limit's get-then-set, concurrent requests
 * never overshoot the limit. A window starts with its first hit.
 */
export class FixedWindowCounter {
    readonly #client: Redis;
    readonly #windowMs: number;

    constructor(client: Redis, windowMs: number) {
        this.#client = client;
        this.#windowMs = windowMs;
    }

    /** Counts a hit on `key`; `null` when Redis did not answer (the caller fails open). */
    async hit(key: string): Promise<WindowHit | null> {
        try {
            const [count, ttl] = await HIT.run(this.#client, [key], [this.#windowMs]) as [number, number];
            return { count, resetAt: Date.now() + (ttl > 0 ? ttl : this.#windowMs) };
        }
        catch {
            return null;
        }
    }
}
