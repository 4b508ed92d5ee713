import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { closeRedis, createRedis, PubSub, type RedisClient } from '@collab/core';

import { RedisCluster } from '../helpers/redis-cluster.js';
import { until } from '../helpers/wait.js';

/** Sharded pub/sub on a private Redis Cluster, with channels of several slots at once. */
describe('PubSub on a Redis Cluster', { timeout: 60_000 }, () => {
    let cluster: RedisCluster;
    let publisher: RedisClient;
    let subscriber: RedisClient;
    let pubsub: PubSub;
    const heard: string[] = [];
    const channels: string[] = [];

    before(async () => {
        cluster = await RedisCluster.start({ replicasPerMaster: 0 });
        const config = { redisUrl: '', redisClusterNodes: cluster.nodes.split(',').map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })) };
        publisher = createRedis(config);
        subscriber = createRedis(config);
        pubsub = new PubSub('shard', publisher, subscriber);
        pubsub.onMessage((channel, message) => void heard.push(`${channel} ${message}`));
        // one channel on each master: every command about them spans three slots
        const owners = new Set<number>();
        for (let id = 1; owners.size < 3; id++) {
            const channel = `test:{ws:${id}}:events`;
            const owner = await cluster.masterOf(channel);
            if (!owners.has(owner)) {
                owners.add(owner);
                channels.push(channel);
            }
        }
    });
    after(async () => {
        await closeRedis(publisher);
        await closeRedis(subscriber);
        await cluster.stop();
    });

    it('subscribes to and unsubscribes from channels of several slots in one call', async () => {
        assert.ok(pubsub.sharded);
        await pubsub.subscribe(...channels);
        await Promise.all(channels.map((channel) => pubsub.publish(channel, 'one')));
        await until(() => heard.length === channels.length, 10_000, 'each channel\'s message', () => heard.join('\n'));
        assert.deepEqual([...heard].sort(), channels.map((channel) => `${channel} one`).sort());

        await pubsub.unsubscribe(...channels);
        await Promise.all(channels.map((channel) => pubsub.publish(channel, 'two')));
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(heard.length, channels.length, heard.join('\n'));
    });
});
