const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;
/** A `Retry-After` longer than this is not waited out: the error is thrown instead. */
const MAX_RETRY_AFTER_S = 60;

/** Methods that are safe to repeat. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** Whether a request may be sent again: idempotent methods, and POSTs carrying an `Idempotency-Key`. */
export function isRetryable(method: string, idempotencyKey: string | undefined): boolean {
    return IDEMPOTENT_METHODS.has(method) || idempotencyKey !== undefined;
}

/** Whether a response status is worth a retry (rate limited, or a server failure). */
export function isRetryableStatus(status: number): boolean {
    return status === 429 || status >= 500;
}

/**
 * The wait before retry number `attempt` (0-based): capped exponential backoff with full jitter,
 * or the server's `Retry-After`. Null when the server asks for a wait too long to sit through.
 */
export function retryDelay(attempt: number, retryAfterSeconds?: number): number | null {
    if (retryAfterSeconds !== undefined) {
        return retryAfterSeconds > MAX_RETRY_AFTER_S ? null : retryAfterSeconds * 1000;
    }

    return Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
}

/** Waits `ms`, or rejects with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) {
            reject(signal.reason);
            return;
        }

        const onAbort = () => {
            clearTimeout(timer);
            reject(signal!.reason);
        };

        const timer = setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
        }, ms);
        signal?.addEventListener('abort', onAbort, { once: true });
    });
}

/** A random UUID (v4), from `crypto.randomUUID()` where the platform has it. */
export function randomId(): string {
    if (typeof globalThis.crypto?.randomUUID === 'function') {
        return globalThis.crypto.randomUUID();
    }

    const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
