import { createHash } from 'node:crypto';

import type { RedisClient } from './redis/client.js';

/**
 * A Lua script run with EVALSHA, falling back to EVAL once Redis has
 * forgotten it (restart, SCRIPT FLUSH). Unlike `defineCommand`, it leaves
 * the caller's shared client untouched.
 */
export class LuaScript {
    readonly sha: string;

    constructor(readonly source: string) {
        this.sha = createHash('sha1').update(source).digest('hex');
    }

    /** Runs the script with `keys` as KEYS and `args` as ARGV. */
    async run(redis: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
        try {
            return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
        }
        catch (err) {
            if (err instanceof Error && err.message.includes('NOSCRIPT')) {
                return redis.eval(this.source, keys.length, ...keys, ...args);
            }

            throw err;
        }
    }
}
