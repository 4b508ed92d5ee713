import type { Plugin } from '@hapi/hapi';
import { closeRedis, createRedis, isClusterMode, JOB_QUEUE_NAME, jobKeys, PubSub } from '@collab/core';
import { Queue } from 'bullmq';

import { LanguageCache } from './languages.js';
import { JobProducer } from './producer.js';
import { JobRelay, relayJobUpdates } from './relay.js';

/** What the `collab-jobs` plugin exposes as `server.plugins['collab-jobs']`. */
export interface JobsPluginApi {
    /** Puts committed jobs on the queue; admin retry uses `retry()`. */
    producer: JobProducer;
    /** Languages of live workers. */
    languages: LanguageCache;
    /** Local fan-out of job update channels (behind the nes subscription `/jobs/{job_id}`). */
    relay: JobRelay;
}

declare module '@hapi/hapi' {
    interface PluginProperties {
        'collab-jobs': JobsPluginApi;
    }
}

/**
 * The API side of jobs: the BullMQ producer, the live-language cache and the
 * relay of job updates, mounted as the nes subscription `/jobs/{job_id}` when
 * nes is registered (by `collab-realtime`, before this plugin). `job.*`
 * workspace events go through `server.app.bus`. Opens two Redis connections
 * (the queue's and the relay's subscriber) and closes them after the server stopped.
 * On a Redis Cluster the queue lives under a hash-tagged prefix ({@link jobKeys}).
 */
export const jobsPlugin: Plugin<void> = {
    name: 'collab-jobs',
    version: '1.0.0',
    dependencies: ['collab-bus'],
    register: (server) => {
        const { config, logger } = server.app;
        const prefix = config.redisPrefix;
        // Fail fast while Redis is down: the row stays queued and the reconciler enqueues it.
        const connection = createRedis(config, { enableOfflineQueue: false });
        connection.on('error', (err: Error) => logger.debug({ err: err.message }, 'job queue connection error'));
        const queue = new Queue(JOB_QUEUE_NAME, { connection, prefix: jobKeys(prefix, isClusterMode(config)).bullPrefix });
        queue.on('error', (err: Error) => logger.debug({ err: err.message }, 'job queue connection error'));
        const subscriber = createRedis(config, { lazyConnect: true });
        subscriber.on('error', (err: Error) => logger.debug({ err: err.message }, 'job relay connection error'));
        const api: JobsPluginApi = {
            producer: new JobProducer(queue, logger),
            languages: new LanguageCache(server.app.redis, prefix),
            relay: new JobRelay(new PubSub('shard', server.app.redis, subscriber), prefix)
        };
        // One key at a time: expose(object) deep-clones, which would strip the instances' private fields.
        for (const [key, value] of Object.entries(api)) {
            server.expose(key, value);
        }

        if (server.decorations.server.includes('subscription')) {
            relayJobUpdates(server);
        }

        server.ext('onPostStop', async () => {
            api.relay.close();
            await queue.close().catch(() => undefined);
            await Promise.all([connection, subscriber].map(closeRedis));
        });
    }
};
