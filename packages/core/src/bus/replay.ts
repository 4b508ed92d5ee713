import { EpochMismatchError } from './errors.js';
import type { Delivery, EventListener, StreamRead } from './topic.js';

/** Where a resuming listener starts. */
export interface ReplayOptions {
    /** The last seq the listener has seen (0: from the oldest retained event). */
    after: number;
    /** The epoch `after` belongs to; another current epoch throws {@link EpochMismatchError}. */
    epoch?: string;
}

/** A resumed listener. */
export interface ReplaySubscription {
    /** The workspace's current epoch. */
    epoch: string;
    /** False when events after `after` were no longer retained (trimmed or expired): the client should reload state. */
    recovered: boolean;
    /** Stops listening. */
    unsubscribe: () => void;
}

/** What a replay needs from the bus. */
export interface ReplaySource {
    subscribe: (listener: EventListener) => () => void;
    read: (after: number) => Promise<StreamRead>;
    onError: (err: Error) => void;
}

/**
 * Subscribes first and buffers, then reads history, then delivers history
 * followed by the buffered live events. Live delivery starts no later than
 * the read's head, so together they leave no gap; overlaps are dropped by seq.
 */
export async function replay(source: ReplaySource, options: ReplayOptions, listener: EventListener): Promise<ReplaySubscription> {
    const after = options.after;
    if (!Number.isSafeInteger(after) || after < 0) {
        throw new TypeError('after must be a non-negative integer');
    }

    let live = false;
    let epoch: string | undefined;
    let lastSeq = 0;
    const buffered: Delivery[] = [];
    const deliver = (delivery: Delivery): void => {
        const { seq } = delivery.envelope;
        if (seq !== undefined) {
            if (delivery.envelope.epoch === epoch && seq <= lastSeq) {
                return;
            }

            epoch = delivery.envelope.epoch;
            lastSeq = seq;
        }

        try {
            listener(delivery.envelope, delivery.json);
        }
        catch (err) {
            source.onError(err as Error);
        }
    };

    const unsubscribe = source.subscribe((envelope, json) => {
        if (live) {
            deliver({ envelope, json });
        }
        else {
            buffered.push({ envelope, json });
        }
    });

    let read: StreamRead;
    try {
        read = await source.read(after);
    }
    catch (err) {
        unsubscribe();
        throw err;
    }

    const current = read.epoch!;
    if (options.epoch !== undefined && options.epoch !== current) {
        unsubscribe();
        throw new EpochMismatchError(current);
    }

    epoch = current;
    lastSeq = Math.min(after, read.seq);
    const firstSeq = read.events[0]?.envelope.seq ?? read.seq + 1;
    for (const delivery of read.events) {
        deliver(delivery);
    }

    for (const delivery of buffered) {
        deliver(delivery);
    }

    buffered.length = 0;
    live = true;
    return { epoch: current, recovered: firstSeq === after + 1, unsubscribe };
}
