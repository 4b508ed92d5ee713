import { Cluster, Redis } from 'ioredis';

import type { Config } from '../config.js';

/** A connection to the deployment's Redis: one server, or a Redis Cluster (`REDIS_CLUSTER_NODES`). */
export type RedisClient = Redis | Cluster;

/** How one connection behaves, the same in both modes. */
export interface RedisConnectionOptions {
    /** Connect on `connect()` (or the first command) rather than at once. */
    lazyConnect?: boolean;
    /** Queue commands while disconnected (ioredis default) or fail them at once. */
    enableOfflineQueue?: boolean;
    /** Retries of a command over reconnects; `null` waits forever (BullMQ workers, subscribers). */
    maxRetriesPerRequest?: number | null;
    /** Fails a command that has no reply after this many ms. */
    commandTimeout?: number;
    /** Sends the commands of one event-loop tick in one write. */
    enableAutoPipelining?: boolean;
    /** Prepended to every key (not to channels); never on connections given to the bus or BullMQ. */
    keyPrefix?: string;
}

/**
 * Makes a connection the way every server and worker connection is made:
 * an ioredis `Redis` on `REDIS_URL`, or, with `REDIS_CLUSTER_NODES`, an
 * ioredis `Cluster` with one sharded subscriber per shard, so `SSUBSCRIBE`
 * reaches the shard that owns each channel (DESIGN §9).
 */
export function createRedis(config: Pick<Config, 'redisUrl' | 'redisClusterNodes'>, options: RedisConnectionOptions = {}): RedisClient {
    if (!config.redisClusterNodes) {
        return new Redis(config.redisUrl, options);
    }

    const { lazyConnect, enableOfflineQueue, enableAutoPipelining, keyPrefix, ...perNode } = options;
    return new Cluster(config.redisClusterNodes, {
        lazyConnect,
        enableOfflineQueue,
        enableAutoPipelining,
        keyPrefix,
        shardedSubscribers: true,
        redisOptions: perNode
    });
}

/** Whether the configuration names a Redis Cluster. */
export function isClusterMode(config: Pick<Config, 'redisClusterNodes'>): boolean {
    return config.redisClusterNodes !== undefined;
}

/** Quits a connection, or drops it when it is not connected (a QUIT would wait for a reconnect). */
export async function closeRedis(client: RedisClient): Promise<void> {
    if (client.status !== 'ready') {
        client.disconnect();
        return;
    }

    await client.quit().catch(() => client.disconnect());
}
