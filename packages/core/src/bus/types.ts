import type { EventEnvelope } from '@collab/protocol';

import type { RedisClient } from '../redis/client.js';

/** Options of an `EventBus`. */
export interface EventBusOptions {
    /** Connection for commands (publish scripts, history reads). */
    redis: RedisClient;
    /** A dedicated connection the bus puts in pub/sub mode; not usable for commands afterwards. */
    subscriber: RedisClient;
    /** Prefix of every key and channel, e.g. `collab:`. */
    prefix: string;
    /** Unique per process; tags this instance's messages so it can ignore their echo. */
    instanceId: string;
    /** Events kept per workspace, at least (default 1000). */
    historySize?: number;
    /** Seconds a workspace's sequence and history live after its last event (default 86400). */
    historyTtlSeconds?: number;
    /** How long a hole in the sequence may stay open before the bus reads it from the stream (default 75 ms). */
    gapTimeoutMs?: number;
    /** Errors nobody awaits (listener exceptions, background reads); default `process.emitWarning`. */
    onError?: (err: Error) => void;
}

/**
 * Stops a listener. `ready` resolves once the instance is subscribed to the
 * workspace, so events published from then on by any instance reach it.
 */
export interface Unsubscribe {
    (): void;
    readonly ready: Promise<void>;
}

/** Options of `EventBus.history`. */
export interface HistoryOptions {
    /** Only events with a greater seq (default 0: all retained). */
    after?: number;
    /** The epoch the caller's `after` belongs to; another current epoch throws `EpochMismatchError`. */
    epoch?: string;
    /** At most this many events (default: all retained). */
    limit?: number;
}

/** A workspace's retained history. */
export interface History {
    epoch: string;
    /** The workspace's last seq. */
    seq: number;
    /** Oldest first. */
    events: EventEnvelope[];
}
