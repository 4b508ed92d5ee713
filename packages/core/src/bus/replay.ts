import { EpochMismatchError } from './errors.js';
import type { Delivery, EventListener, StreamRead } from './topic.js';

/** Events read from the stream at once by a replay (one XRANGE with COUNT). */
export const REPLAY_PAGE_SIZE = 100;

/** Where a resuming listener starts. */
export interface ReplayOptions {
    /** The last seq the listener has seen (0: from the oldest retained event). */
    after: number;
    /** The epoch `after` belongs to; another current epoch throws {@link EpochMismatchError}. */
    epoch?: string;
}

/** How the caller paces a replay. */
export interface ReplayControl {
    /** Events per page (default {@link REPLAY_PAGE_SIZE}). */
    pageSize?: number;
    /** Called once the epoch is known, before the first event is delivered. */
    onStart?: (epoch: string, recovered: boolean) => void;
    /** Asked before each further page is read; false stops the replay, which rejects with {@link ReplayStoppedError}. */
    proceed?: () => boolean;
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
    read: (after: number, limit: number) => Promise<StreamRead>;
    onError: (err: Error) => void;
}

/** The caller's `proceed()` said no: the replay stopped and left no listener behind. */
export class ReplayStoppedError extends Error {
    override readonly name = 'ReplayStoppedError';

    constructor() {
        super('replay stopped');
    }
}

/**
 * Subscribes first and buffers, then reads history a page at a time,
 * delivering each page before the next is read, then the buffered live
 * events. Live delivery starts no later than the first read's head, so
 * together they leave no gap; overlaps are dropped by seq. Only one page of
 * history is held at once, and the live buffer is kept to a page too: when
 * it outgrows one, its stored events are dropped and read from the stream
 * instead (reading goes on until a page comes back short with nothing
 * dropped meanwhile).
 */
export async function replay(source: ReplaySource, options: ReplayOptions, listener: EventListener, control: ReplayControl = {}): Promise<ReplaySubscription> {
    const after = options.after;
    if (!Number.isSafeInteger(after) || after < 0) {
        throw new TypeError('after must be a non-negative integer');
    }

    const pageSize = control.pageSize ?? REPLAY_PAGE_SIZE;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
        throw new TypeError('pageSize must be a positive integer');
    }

    let live = false;
    let epoch: string | undefined;
    let lastSeq = 0;
    let buffered: Delivery[] = [];
    let dropped: boolean;
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
            return;
        }

        buffered.push({ envelope, json });
        if (buffered.length > pageSize) {
            buffered = buffered.filter((delivery) => delivery.envelope.seq === undefined).slice(-pageSize);
            dropped = true;
        }
    });

    try {
        dropped = false;
        let read = await source.read(after, pageSize);
        const current = read.epoch!;
        if (options.epoch !== undefined && options.epoch !== current) {
            throw new EpochMismatchError(current);
        }

        epoch = current;
        lastSeq = Math.min(after, read.seq);
        const firstSeq = read.events[0]?.envelope.seq ?? read.seq + 1;
        const recovered = firstSeq === after + 1;
        control.onStart?.(current, recovered);
        for (;;) {
            for (const delivery of read.events) {
                deliver(delivery);
            }

            buffered = buffered.filter((delivery) => delivery.envelope.seq === undefined || delivery.envelope.epoch !== epoch || delivery.envelope.seq > lastSeq);
            if (read.events.length < pageSize && !dropped) {
                break;
            }

            if (control.proceed && !control.proceed()) {
                throw new ReplayStoppedError();
            }

            dropped = false;
            read = await source.read(lastSeq, pageSize);
            if (read.epoch !== epoch) {
                break;                              // Redis lost the stream meanwhile: the live topic follows the new epoch
            }
        }

        if (control.proceed && !control.proceed()) {
            throw new ReplayStoppedError();
        }

        const rest = buffered;
        buffered = [];
        for (const delivery of rest) {
            deliver(delivery);
        }

        live = true;
        return { epoch: current, recovered, unsubscribe };
    }
    catch (err) {
        unsubscribe();
        buffered = [];
        throw err;
    }
}
