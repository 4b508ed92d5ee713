/** First reconnect delay ceiling. */
export const BACKOFF_BASE_MS = 250;
/** Largest reconnect delay. */
export const BACKOFF_CAP_MS = 10_000;
/** A connection that stayed up this long resets the backoff. */
export const STABLE_AFTER_MS = 10_000;

/** Exponential backoff with full jitter: a random wait below `min(cap, base * 2^attempt)`. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
    return Math.round(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16)));
}
