import { Command } from 'ioredis';

import type { RedisClient } from './client.js';

/**
 * Where a channel's messages go on a Redis Cluster: `shard` channels use
 * sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, one shard, the one owning the
 * channel's slot: name them with the hash tag of the keys they belong to,
 * e.g. `{ws:ID}`); `cluster` channels use `PUBLISH`, which every node
 * relays. On one Redis both are plain `PUBLISH`/`SUBSCRIBE`.
 */
export type ChannelScope = 'shard' | 'cluster';

const RESUBSCRIBE_SETTLE_MS = 500;

/** Receives a message of a channel this instance subscribed to. */
export type MessageListener = (channel: string, message: string) => void;

/**
 * The publish/subscribe commands of one channel scope, so callers never
 * choose between `PUBLISH` and `SPUBLISH` themselves. Several may share
 * one subscriber connection: each hears the messages of its own kind
 * (`message` or `smessage`), and callers filter by channel as usual.
 * Without a subscriber it only publishes. Never quits the connections it
 * is given.
 */
export class PubSub {
    /** Sharded pub/sub: a Cluster and a `shard` scope. */
    readonly sharded: boolean;
    /** The command a Lua script publishes with (`redis.call(pubsub.publishCommand, channel, message)`). */
    readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
    readonly #publisher: RedisClient;
    readonly #subscriber: RedisClient | undefined;

    constructor(scope: ChannelScope, publisher: RedisClient, subscriber?: RedisClient) {
        this.#publisher = publisher;
        this.#subscriber = subscriber;
        this.sharded = scope === 'shard' && publisher.isCluster;
        this.publishCommand = this.sharded ? 'SPUBLISH' : 'PUBLISH';
    }

    /** Publishes on the commands connection. */
    async publish(channel: string, message: string | Buffer): Promise<void> {
        await (this.sharded ? this.#publisher.spublish(channel, message) : this.#publisher.publish(channel, message));
    }

    /**
     * Publishes one message written at once, outside the connection's
     * auto-pipelining: for a stream of messages sent one per tick, it skips
     * the pipeline built for each and its wait for the next tick.
     */
    async publishNow(channel: string, message: Buffer): Promise<void> {
        await this.#publisher.sendCommand(new Command(this.sharded ? 'spublish' : 'publish', [channel, message]));
    }

    /** Publishes several messages to one channel in one write, in order. */
    async publishAll(channel: string, messages: readonly string[]): Promise<void> {
        if (messages.length === 1) {
            return this.publish(channel, messages[0]!);
        }

        const pipeline = this.#publisher.pipeline();
        for (const message of messages) {
            if (this.sharded) {
                pipeline.spublish(channel, message);
            }
            else {
                pipeline.publish(channel, message);
            }
        }

        await pipeline.exec();
    }

    /** Subscribes to channels of any slots: a cluster takes `SSUBSCRIBE` one slot at a time, so there one command per channel. */
    async subscribe(...channels: string[]): Promise<void> {
        const subscriber = this.#subscriberConnection();
        await (this.sharded ? Promise.all(channels.map((channel) => subscriber.ssubscribe(channel))) : subscriber.subscribe(...channels));
    }

    /** Unsubscribes from channels of any slots (one `SUNSUBSCRIBE` per channel on a cluster). */
    async unsubscribe(...channels: string[]): Promise<void> {
        if (channels.length === 0) {
            return;
        }

        const subscriber = this.#subscriberConnection();
        await (this.sharded ? Promise.all(channels.map((channel) => subscriber.sunsubscribe(channel))) : subscriber.unsubscribe(...channels));
    }

    /** Listens to messages of this scope's kind; returns the function that stops listening. */
    onMessage(listener: MessageListener): () => void {
        const subscriber = this.#subscriberConnection();
        const event = this.sharded ? 'smessage' : 'message';
        subscriber.on(event, listener);
        return () => subscriber.off(event, listener);
    }

    /** Listens to messages of this scope's kind as bytes (for binary payloads); returns the function that stops listening. */
    onMessageBuffer(listener: (channel: Buffer, message: Buffer) => void): () => void {
        const subscriber = this.#subscriberConnection();
        const event = this.sharded ? 'smessageBuffer' : 'messageBuffer';
        subscriber.on(event, listener);
        return () => subscriber.off(event, listener);
    }

    /**
     * Calls `listener` each time subscriptions are live again after a
     * reconnect or a failover (messages published meanwhile were lost: read
     * what the stream holds). Returns the function that stops listening.
     */
    onResubscribed(listener: () => void, onError: (err: Error) => void): () => void {
        const subscriber = this.#subscriberConnection();
        const event = this.sharded ? 'subscribersReady' : 'ready';
        const live = (): void => {
            if (this.sharded) {
                // The cluster resubscribes on each shard's own connection without a reply to wait for:
                // call now, and once more when the subscriptions surely took effect.
                listener();
                setTimeout(listener, RESUBSCRIBE_SETTLE_MS).unref();
                return;
            }

            // PING is queued behind ioredis's resubscribe, so its reply means the channels are live again.
            subscriber.ping().then(() => listener()).catch(onError);
        };
        subscriber.on(event, live);
        return () => subscriber.off(event, live);
    }

    #subscriberConnection(): RedisClient {
        if (!this.#subscriber) {
            throw new TypeError('this PubSub only publishes: give it a subscriber connection');
        }

        return this.#subscriber;
    }
}
