import type { RedisClient } from '@collab/core';

const ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * A short Redis lock electing one leader among workers: `acquire()` takes it
 * or extends it when this worker already holds it. A leader that stops
 * renewing loses it after `ttlMs`.
 */
export class LeaderLock {
    constructor(
        private readonly redis: RedisClient,
        private readonly key: string,
        private readonly owner: string,
        private readonly ttlMs: number
    ) {}

    /** Whether this worker holds the lock now. */
    async acquire(): Promise<boolean> {
        return (await this.redis.eval(ACQUIRE, 1, this.key, this.owner, this.ttlMs)) === 1;
    }

    /** Gives the lock up if this worker holds it. */
    async release(): Promise<void> {
        await this.redis.eval(RELEASE, 1, this.key, this.owner);
    }
}
