import type { Plugin } from '@hapi/hapi';
import { closeRedis, createRedis, DocChannels, EventBus, Presence } from '@collab/core';

/** Options of the `collab-bus` plugin. */
export interface BusPluginOptions {
    /** How long this instance counts as alive after its last presence heartbeat (ms); heartbeats every third of it. */
    presenceTtlMs?: number;
}

const RETRY_MS = 2_000;

/**
 * The workspace event bus, presence and document channels of this server
 * (`server.app.bus`, `server.app.presence`, `server.app.docChannels`) on
 * two Redis connections of its own: commands fail
 * at once while Redis is down (callers answer 503) and the subscriber
 * reconnects and resubscribes by itself, so the server never needs a
 * restart. Both are closed after the server stopped (`onPostStop`), once
 * the transports are gone.
 */
export const busPlugin: Plugin<BusPluginOptions> = {
    name: 'collab-bus',
    version: '1.0.0',
    register: (server, options) => {
        const { config, logger, instanceId } = server.app;
        const ttl = options.presenceTtlMs ?? 10_000;
        // Auto-pipelining: the presence counts of sockets that open in the same tick leave in one write.
        const redis = createRedis(config, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000, enableAutoPipelining: true });
        const subscriber = createRedis(config, { lazyConnect: true, maxRetriesPerRequest: null });
        const outage = new Set<string>();
        for (const [name, connection] of [['commands', redis], ['subscriber', subscriber]] as const) {
            connection.on('error', (err: Error) => {
                if (!outage.has(name)) {
                    outage.add(name);
                    logger.warn({ err: err.message, connection: name }, 'event bus: Redis is not answering');
                }
            });
            connection.on('ready', () => {
                if (outage.delete(name)) {
                    logger.info({ connection: name }, 'event bus: Redis answers again');
                }
            });
        }

        const onError = (err: Error) => logger.debug({ err: err.message }, 'event bus background error');
        const bus = new EventBus({ redis, subscriber, prefix: config.redisPrefix, instanceId, onError });
        const presence = new Presence({
            bus,
            heartbeatTtlMs: ttl,
            heartbeatIntervalMs: Math.floor(ttl / 3),
            sweepIntervalMs: Math.floor(ttl / 2),
            onError
        });
        server.app.bus = bus;
        server.app.presence = presence;
        server.app.docChannels = new DocChannels({ redis, subscriber, prefix: config.redisPrefix, onError });

        let retry: NodeJS.Timeout | undefined;
        let stopped = false;
        // Presence registers this instance in Redis; while Redis is down it keeps trying.
        const startPresence = () => {
            presence.start().catch((err: Error) => {
                onError(err);
                if (!stopped) {
                    retry = setTimeout(startPresence, RETRY_MS);
                    retry.unref();
                }
            });
        };

        server.ext('onPreStart', async () => {
            stopped = false;
            await redis.connect().catch(() => undefined);
            startPresence();
        });

        server.ext('onPostStop', async () => {
            stopped = true;
            clearTimeout(retry);
            presence.stop();
            // close() ends with an UNSUBSCRIBE that waits for a connection (ioredis keeps it queued
            // forever once disconnected while reconnecting): wait for it only while Redis answers.
            const closing = Promise.all([server.app.docChannels.close(), bus.close()]);
            if (subscriber.status === 'ready') {
                await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
            }

            await Promise.all([redis, subscriber].map(closeRedis));
        });
    }
};
