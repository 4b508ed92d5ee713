import type { EventEnvelope } from '@collab/protocol';

import type { RedisClient } from '../redis/client.js';
import { PubSub } from '../redis/pubsub.js';

import { ControlListeners, type ControlListener, type ControlMessage } from './control.js';
import { EpochMismatchError } from './errors.js';
import { busKeys } from './keys.js';
import { replay, type ReplayControl, type ReplayOptions, type ReplaySubscription } from './replay.js';
import { publishScript } from './scripts.js';
import { joinEnvelope, splitEnvelope, type PublishInput } from './serialize.js';
import { newEpoch, readStream } from './stream.js';
import { Topic, type EventListener, type StreamRead } from './topic.js';
import type { EventBusOptions, History, HistoryOptions, Unsubscribe } from './types.js';

/**
 * The workspace event bus: sequence, history and fan-out over Redis,
 * without any transport. Transports subscribe listeners and send the
 * `json` they get as is.
 *
 * Every listener sees a workspace's events in strictly increasing `seq`
 * order, without duplicates, including events published by this instance
 * (delivered locally at once; their pub/sub echo is ignored). The instance
 * subscribes to a workspace's channel only while it has local listeners.
 *
 * Retention: the stream is trimmed with `MAXLEN ~ historySize`, which keeps
 * at least `historySize` events (Redis trims whole nodes, so up to about
 * 100 more), and all of a workspace's keys expire `historyTtlSeconds`
 * after its last event.
 *
 * The bus never quits the connections it is given: close them after
 * {@link EventBus.close}. Do not set ioredis `keyPrefix` on them; `prefix`
 * does that job.
 */
export class EventBus {
    /** The commands connection. */
    readonly redis: RedisClient;
    /** Prefix of every key and channel. */
    readonly prefix: string;
    /** This process's id, as given. */
    readonly instanceId: string;
    private readonly subscriber: RedisClient;
    /** Workspace channels: sharded on a cluster. */
    private readonly channels: PubSub;
    /** The control channel: every instance hears it, on a cluster too. */
    private readonly controlChannel: PubSub;
    private readonly listening: Array<() => void>;
    private readonly keys: ReturnType<typeof busKeys>;
    private readonly echoTag: string;
    private readonly historySize: number;
    private readonly ttlSeconds: number;
    private readonly gapTimeoutMs: number;
    private readonly onError: (err: Error) => void;
    private readonly topics = new Map<string, Topic>();
    private readonly control: ControlListeners;
    private readonly controlReady: Promise<void>;
    private closed = false;

    constructor(options: EventBusOptions) {
        if (options.redis === options.subscriber) {
            throw new TypeError('subscriber must be a dedicated connection, not the commands one');
        }

        if (typeof options.prefix !== 'string') {
            throw new TypeError('prefix must be a string');
        }

        if (!options.instanceId || options.instanceId.includes('\n')) {
            throw new TypeError('instanceId must be a non-empty string without newlines');
        }

        this.redis = options.redis;
        this.subscriber = options.subscriber;
        this.prefix = options.prefix;
        this.instanceId = options.instanceId;
        this.keys = busKeys(options.prefix);
        this.echoTag = `${options.instanceId}\n`;
        this.historySize = positiveInteger('historySize', options.historySize ?? 1000);
        this.ttlSeconds = positiveInteger('historyTtlSeconds', options.historyTtlSeconds ?? 86_400);
        this.gapTimeoutMs = positiveInteger('gapTimeoutMs', options.gapTimeoutMs ?? 75);
        this.onError = options.onError ?? ((err) => process.emitWarning(err));
        this.control = new ControlListeners(this.onError);

        this.channels = new PubSub('shard', this.redis, this.subscriber);
        this.controlChannel = new PubSub('cluster', this.redis, this.subscriber);
        this.listening = [
            this.channels.onMessage(this.onMessage),
            this.channels.onResubscribed(this.onReconnect, this.onError),
            ...this.channels.sharded ? [this.controlChannel.onMessage(this.onMessage)] : []
        ];
        this.controlReady = this.controlChannel.subscribe(this.keys.control);
        this.controlReady.catch(this.onError);
    }

    /** Resolves once this instance receives control messages. */
    ready(): Promise<void> {
        return this.controlReady;
    }

    /**
     * Publishes an event to a workspace: assigns its `seq` and `epoch`,
     * stores it in the history, and fans it out to every instance.
     * Throws `BusValidationError` (no Redis call) for a bad event name (400)
     * or a payload over `MAX_PAYLOAD_BYTES` (413).
     */
    async publish(workspaceId: number, input: PublishInput): Promise<EventEnvelope> {
        const split = splitEnvelope(workspaceId, input);
        const channel = this.keys.channel(workspaceId);
        let reply: [number, string];
        try {
            reply = await publishScript.run(
                this.redis,
                [this.keys.meta(workspaceId), this.keys.log(workspaceId)],
                [newEpoch(), split.head, split.tail, this.historySize, this.ttlSeconds, channel, this.instanceId, this.channels.publishCommand]
            ) as [number, string];
        }
        catch (err) {
            // The script may have run with its reply lost; the echo is ignored, so fetch it.
            this.topics.get(channel)?.resync();
            throw err;
        }

        const delivery = joinEnvelope(split, Number(reply[0]), String(reply[1]));
        this.topics.get(channel)?.accept(delivery);
        return delivery.envelope;
    }

    /**
     * Fans out an event that has no `seq` and is not stored (presence).
     * Local listeners get it at once, unordered against stored events.
     */
    async publishEphemeral(workspaceId: number, input: PublishInput): Promise<EventEnvelope> {
        const split = splitEnvelope(workspaceId, input);
        const channel = this.keys.channel(workspaceId);
        const json = split.head + split.tail;
        this.topics.get(channel)?.emit({ envelope: split.envelope, json });
        await this.channels.publish(channel, this.echoTag + json);
        return split.envelope;
    }

    /**
     * Listens to a workspace's events from now on: every event this
     * instance publishes after the call, and every event any instance
     * publishes once `ready` resolved. Returns the function that stops
     * listening; the instance unsubscribes from the workspace's channel when
     * its last listener leaves.
     */
    subscribe(workspaceId: number, listener: EventListener): Unsubscribe {
        if (this.closed) {
            throw new Error('EventBus is closed');
        }

        const channel = this.keys.channel(workspaceId);
        const topic = this.topics.get(channel) ?? this.openTopic(workspaceId, channel);
        // A wrapper per call, so the same function subscribed twice unsubscribes once each.
        const entry: EventListener = (envelope, json) => listener(envelope, json);
        topic.listeners.add(entry);
        let active = true;
        const unsubscribe = () => {
            if (!active) {
                return;
            }

            active = false;
            topic.listeners.delete(entry);
            if (topic.listeners.size === 0 && this.topics.get(channel) === topic) {
                this.topics.delete(channel);
                topic.close();
                this.channels.unsubscribe(channel).catch(this.onError);
            }
        };

        return Object.assign(unsubscribe, { ready: topic.ready });
    }

    /**
     * Retained events after `after`, oldest first. Throws
     * {@link EpochMismatchError} when `epoch` is given and is not current.
     */
    async history(workspaceId: number, options: HistoryOptions = {}): Promise<History> {
        const read = await this.read(workspaceId, options.after ?? 0, true, options.limit);
        if (options.epoch !== undefined && options.epoch !== read.epoch) {
            throw new EpochMismatchError(read.epoch!);
        }

        return { epoch: read.epoch!, seq: read.seq, events: read.events.map((event) => event.envelope) };
    }

    /**
     * Resumes a listener: history after `options.after`, read and delivered
     * a page at a time, then live events, with no gap and no duplicate.
     * `control` paces it (page size, a hook before the first event, a check
     * before each page). Throws {@link EpochMismatchError} when
     * `options.epoch` is given and is not current.
     */
    replayThenLive(workspaceId: number, options: ReplayOptions, listener: EventListener, control?: ReplayControl): Promise<ReplaySubscription> {
        return replay({
            subscribe: (live) => this.subscribe(workspaceId, live),
            read: (after, limit) => this.read(workspaceId, after, true, limit),
            onError: this.onError
        }, options, listener, control);
    }

    /** Listens to control messages from every instance, this one included. Returns the function that stops listening. */
    onControl(listener: ControlListener): () => void {
        return this.control.add(listener);
    }

    /** Sends a command to every instance, this one included (through Redis). */
    async publishControl(message: ControlMessage): Promise<void> {
        await this.controlChannel.publish(this.keys.control, this.echoTag + JSON.stringify(message));
    }

    /** Unsubscribes from every channel and drops listeners; leaves both connections open. */
    async close(): Promise<void> {
        if (this.closed) {
            return;
        }

        this.closed = true;
        for (const stop of this.listening) {
            stop();
        }

        const channels = [...this.topics.keys()];
        for (const topic of this.topics.values()) {
            topic.close();
        }

        this.topics.clear();
        this.control.clear();
        if (this.subscriber.status !== 'end') {
            await Promise.all([this.controlChannel.unsubscribe(this.keys.control), this.channels.unsubscribe(...channels)]).catch(this.onError);
        }
    }

    private openTopic(workspaceId: number, channel: string): Topic {
        const topic = new Topic({
            read: (after) => this.read(workspaceId, after, false),
            gapTimeoutMs: this.gapTimeoutMs,
            onError: this.onError
        });
        this.topics.set(channel, topic);

        // The head is read on the commands connection right now, so any
        // publish this instance makes after subscribe() gets a greater seq
        // and reaches the new listener. Events published by others between
        // this read and SUBSCRIBE taking effect are fetched by resync().
        const head = this.startTopic(topic, workspaceId);
        const subscribed = this.channels.subscribe(channel);
        topic.ready = Promise.all([head, subscribed]).then(() => topic.resync());
        topic.ready.catch(this.onError);

        return topic;
    }

    private async startTopic(topic: Topic, workspaceId: number): Promise<void> {
        let head: Array<string | null>;
        try {
            head = await this.redis.hmget(this.keys.meta(workspaceId), 'seq', 'epoch');
        }
        catch (err) {
            this.onError(err as Error);
            topic.start(undefined, undefined);
            return;
        }

        topic.start(head[1] ?? undefined, Number(head[0] ?? 0));
    }

    private read(workspaceId: number, after: number, createEpoch: boolean, limit?: number): Promise<StreamRead> {
        return readStream({ redis: this.redis, keys: this.keys, workspaceId, after, createEpoch, ttlSeconds: this.ttlSeconds, limit });
    }

    private readonly onMessage = (channel: string, message: string): void => {
        if (channel === this.keys.control) {
            this.control.dispatch(message);
            return;
        }

        const topic = this.topics.get(channel);
        if (!topic || message.startsWith(this.echoTag)) {
            return;
        }

        const json = message.slice(message.indexOf('\n') + 1);
        let envelope: EventEnvelope;
        try {
            envelope = JSON.parse(json) as EventEnvelope;
        }
        catch (err) {
            this.onError(err as Error);
            return;
        }

        if (envelope.seq === undefined) {
            topic.emit({ envelope, json });
        }
        else {
            topic.accept({ envelope, json });
        }
    };

    // Pub/sub is at most once: after a reconnect or a failover, read what the stream got meanwhile.
    private readonly onReconnect = (): void => {
        if (this.topics.size > 0) {
            this.resyncAll();
        }
    };

    private readonly resyncAll = (): void => {
        for (const topic of this.topics.values()) {
            topic.resync();
        }
    };
}

function positiveInteger(name: string, value: number): number {
    if (!Number.isSafeInteger(value) || value <= 0) {
        throw new TypeError(`${name} must be a positive integer`);
    }

    return value;
}
