/** A token bucket: `capacity` tokens, refilled at `rate` per second. */
export class TokenBucket {
    private tokens: number;
    private last = performance.now();

    constructor(private readonly rate: number, private readonly capacity: number) {
        this.tokens = capacity;
    }

    /** Takes one token; false when none is left. */
    take(): boolean {
        const now = performance.now();
        this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
        this.last = now;
        if (this.tokens < 1) {
            return false;
        }

        this.tokens -= 1;
        return true;
    }
}

/** What a client message may do under its socket's rate limit. */
export type RateVerdict = 'ok' | 'refuse' | 'close';

/**
 * A socket's message rate limit: `rate` messages a second, bursts of
 * `burst`. Messages over it are refused; a client that keeps sending while
 * refused (more than `burst` refusals, drained at `rate` a second) is to be
 * disconnected.
 */
export class MessageLimiter {
    private readonly messages: TokenBucket;
    private readonly refusals: TokenBucket;

    constructor(rate: number, burst: number) {
        this.messages = new TokenBucket(rate, burst);
        this.refusals = new TokenBucket(rate, burst);
    }

    /** Counts one message. */
    check(): RateVerdict {
        if (this.messages.take()) {
            return 'ok';
        }

        return this.refusals.take() ? 'refuse' : 'close';
    }
}
