import type { EventEnvelope } from '@collab/protocol';

/**
 * Receives a workspace's events. `envelope` and `json` are shared by every
 * listener: send `json` as is, and do not mutate `envelope`.
 */
export type EventListener = (envelope: EventEnvelope, json: string) => void;

/** One event as delivered: the envelope and its one serialization. */
export interface Delivery {
    envelope: EventEnvelope;
    json: string;
}

/** A read of the stored stream: the epoch (undefined when Redis holds none), its head seq, events after the asked seq. */
export interface StreamRead {
    epoch: string | undefined;
    seq: number;
    events: Delivery[];
}

/** How a topic reaches Redis and reports trouble. */
export interface TopicOptions {
    read: (after: number) => Promise<StreamRead>;
    gapTimeoutMs: number;
    onError: (err: Error) => void;
}

const MAX_RETRY_MS = 5_000;

/**
 * One workspace's local fan-out on one instance. Events arrive from two
 * paths that race (this instance's publish replies, other instances'
 * pub/sub messages), so a small reorder buffer holds early ones; a gap that
 * stays open for `gapTimeoutMs` is read from the stream.
 */
export class Topic {
    readonly listeners = new Set<EventListener>();
    /** Resolves once the starting point is known and the channel is subscribed (set by the bus). */
    ready: Promise<void> = Promise.resolve();
    private epoch: string | undefined;
    private nextSeq = 0;
    private floating = false;
    private generation = 0;
    private early: Delivery[] = [];
    private readonly pending = new Map<number, Delivery>();
    private readonly retired = new Set<string>();
    private gapTimer: NodeJS.Timeout | undefined;
    private reading = false;
    private readAgain = false;
    private failures = 0;
    private closed = false;

    constructor(private readonly options: TopicOptions) {}

    /**
     * Sets the starting point: events up to `seq` happened before this topic
     * existed. Without a head (Redis did not answer), start at the first event seen.
     */
    start(epoch: string | undefined, seq: number | undefined): void {
        this.epoch = epoch;
        this.nextSeq = (seq ?? 0) + 1;
        this.floating = seq === undefined;
        const early = this.early;
        this.early = [];
        for (const delivery of early) {
            this.accept(delivery);
        }
    }

    /** Takes a stored event (with seq) from either path; delivers it once, in order. */
    accept(delivery: Delivery): void {
        if (this.closed) {
            return;
        }

        if (this.nextSeq === 0) {
            this.early.push(delivery);
            return;
        }

        const seq = delivery.envelope.seq!;
        const epoch = delivery.envelope.epoch!;
        if (this.floating) {
            this.floating = false;
            this.epoch = epoch;
            this.nextSeq = seq;
        }

        if (epoch !== this.epoch) {
            // A late message from an epoch already left behind must not reset us back to it.
            if (this.retired.has(epoch)) {
                return;
            }

            this.reset(epoch);
        }

        if (seq < this.nextSeq || this.pending.has(seq)) {
            return;
        }

        this.pending.set(seq, delivery);
        this.drain();
        if (this.pending.size > 0 && !this.gapTimer && !this.reading) {
            this.armGapTimer(this.options.gapTimeoutMs);
        }
    }

    /** Delivers to every listener now; ephemeral events skip ordering. */
    emit(delivery: Delivery): void {
        for (const listener of this.listeners) {
            try {
                listener(delivery.envelope, delivery.json);
            }
            catch (err) {
                this.options.onError(err as Error);
            }
        }
    }

    /** Reads what the stream holds after the last delivered seq (after a gap, a resubscribe or a failed publish). */
    resync(): void {
        if (this.closed || this.nextSeq === 0 || this.floating) {
            return;
        }

        if (this.reading) {
            this.readAgain = true;
            return;
        }

        this.reading = true;
        this.clearGapTimer();
        this.readThenSettle().catch((err: Error) => this.options.onError(err));
    }

    /** Stops timers and drops buffered events. */
    close(): void {
        this.closed = true;
        this.clearGapTimer();
        this.pending.clear();
        this.early = [];
        this.listeners.clear();
    }

    private async readThenSettle(): Promise<void> {
        try {
            await this.readMissing();
            this.failures = 0;
        }
        catch (err) {
            this.failures++;
            this.options.onError(err as Error);
        }
        finally {
            this.reading = false;
            if (this.readAgain) {
                this.readAgain = false;
                this.resync();
            }
            else if (this.pending.size > 0 && !this.closed) {
                this.armGapTimer(Math.min(this.options.gapTimeoutMs * 2 ** this.failures, MAX_RETRY_MS));
            }
        }
    }

    private async readMissing(): Promise<void> {
        let generation = this.generation;
        let read = await this.options.read(this.nextSeq - 1);
        // An epoch change that arrived during the read makes its answer stale
        // (e.g. "no epoch yet" read just before the first publish).
        if (this.closed || generation !== this.generation) {
            return;
        }

        if (read.epoch !== this.epoch) {
            if (read.epoch === undefined) {
                // Redis lost the workspace and no new epoch exists yet: what we wait for is gone.
                this.skipMissing(Infinity);
                return;
            }

            this.reset(read.epoch);
            generation = this.generation;
            read = await this.options.read(0);
            if (this.closed || generation !== this.generation || read.epoch !== this.epoch) {
                return;
            }
        }

        for (const delivery of read.events) {
            this.accept(delivery);
        }

        // The script writes the stream before it publishes, so whatever the
        // stream lacks up to its head was trimmed or expired: skip over it.
        this.skipMissing(read.seq);
    }

    private skipMissing(upTo: number): void {
        if (this.nextSeq > upTo) {
            return;
        }

        const seqs = [...this.pending.keys()].sort((a, b) => a - b);
        for (const seq of seqs) {
            if (seq > upTo) {
                break;
            }

            this.emit(this.pending.get(seq)!);
            this.pending.delete(seq);
            this.nextSeq = seq + 1;
        }

        if (Number.isFinite(upTo)) {
            this.nextSeq = Math.max(this.nextSeq, upTo + 1);
        }

        this.drain();
    }

    private drain(): void {
        let delivery = this.pending.get(this.nextSeq);
        while (delivery) {
            this.pending.delete(this.nextSeq);
            this.nextSeq++;
            this.emit(delivery);
            delivery = this.pending.get(this.nextSeq);
        }

        if (this.pending.size === 0) {
            this.clearGapTimer();
        }
    }

    private reset(epoch: string): void {
        if (this.epoch !== undefined) {
            if (this.retired.size >= 16) {
                this.retired.clear();
            }

            this.retired.add(this.epoch);
        }

        this.epoch = epoch;
        this.nextSeq = 1;
        this.generation++;
        this.pending.clear();
    }

    private armGapTimer(ms: number): void {
        this.clearGapTimer();
        this.gapTimer = setTimeout(() => {
            this.gapTimer = undefined;
            this.resync();
        }, ms);
        this.gapTimer.unref();
    }

    private clearGapTimer(): void {
        if (this.gapTimer) {
            clearTimeout(this.gapTimer);
            this.gapTimer = undefined;
        }
    }
}
