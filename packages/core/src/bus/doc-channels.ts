import type { RedisClient } from '../redis/client.js';
import { PubSub } from '../redis/pubsub.js';
import { docKeys } from './keys.js';

/** Receives a binary message published on a document's channel by another instance. */
export type DocChannelListener = (message: Buffer) => void;

/** What {@link DocChannels} needs: the bus's two connections and key prefix. */
export interface DocChannelsOptions {
    /** The commands connection (PUBLISH, or SPUBLISH on a cluster). */
    redis: RedisClient;
    /** The subscriber connection the event bus uses; messages of other channels are left to it. */
    subscriber: RedisClient;
    prefix: string;
    onError: (err: Error) => void;
}

/**
 * Binary pub/sub of collaborative documents, one channel per document under
 * its workspace's hash tag, so on a Redis Cluster a document's messages go
 * to its workspace's shard only (sharded pub/sub, through {@link PubSub}).
 * Shares the event bus's connections; the instance subscribes to a
 * document's channel only while it holds the document. Pub/sub is at most
 * once: {@link onReconnect} listeners hear when the subscriber is back, so
 * they can catch up.
 */
export class DocChannels {
    private readonly keys: ReturnType<typeof docKeys>;
    private readonly channels: PubSub;
    private readonly listeners = new Map<string, DocChannelListener>();
    private readonly reconnects = new Set<() => void>();
    private readonly listening: Array<() => void>;
    private closed = false;

    constructor(private readonly options: DocChannelsOptions) {
        this.keys = docKeys(options.prefix);
        this.channels = new PubSub('shard', options.redis, options.subscriber);
        this.listening = [
            this.channels.onMessageBuffer(this.onMessage),
            this.channels.onResubscribed(this.onResubscribed, options.onError)
        ];
    }

    /** Publishes a message to every other instance holding the document. */
    async publish(workspaceId: number, path: string, message: Uint8Array): Promise<void> {
        await this.channels.publishNow(this.keys.channel(workspaceId, path), Buffer.from(message.buffer, message.byteOffset, message.byteLength));
    }

    /** Listens to a document's channel (one listener per document); resolves once subscribed. Returns the function that stops listening. */
    async subscribe(workspaceId: number, path: string, listener: DocChannelListener): Promise<() => void> {
        const channel = this.keys.channel(workspaceId, path);
        if (this.closed || this.listeners.has(channel)) {
            throw new Error(this.closed ? 'DocChannels is closed' : `already subscribed to ${channel}`);
        }

        this.listeners.set(channel, listener);
        try {
            await this.channels.subscribe(channel);
        }
        catch (err) {
            this.listeners.delete(channel);
            throw err;
        }

        return () => {
            if (this.listeners.get(channel) === listener) {
                this.listeners.delete(channel);
                this.channels.unsubscribe(channel).catch(this.options.onError);
            }
        };
    }

    /** Calls `listener` each time the subscriber is connected again (messages may have been missed). Returns the function that stops it. */
    onReconnect(listener: () => void): () => void {
        this.reconnects.add(listener);
        return () => this.reconnects.delete(listener);
    }

    /** Unsubscribes from every document channel; leaves the connections open. */
    async close(): Promise<void> {
        if (this.closed) {
            return;
        }

        this.closed = true;
        for (const stop of this.listening) {
            stop();
        }

        const channels = [...this.listeners.keys()];
        this.listeners.clear();
        this.reconnects.clear();
        if (channels.length && this.options.subscriber.status === 'ready') {
            await this.channels.unsubscribe(...channels).catch(this.options.onError);
        }
    }

    private readonly onMessage = (channel: Buffer, message: Buffer): void => {
        const name = channel.toString();
        if (!name.startsWith(this.keys.channelPrefix)) {
            return;
        }

        const listener = this.listeners.get(name);
        if (!listener) {
            return;
        }

        try {
            listener(message);
        }
        catch (err) {
            this.options.onError(err as Error);
        }
    };

    private readonly onResubscribed = (): void => {
        for (const listener of this.reconnects) {
            listener();
        }
    };
}
