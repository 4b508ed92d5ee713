/** A publish the bus refused before touching Redis: bad event name or payload. */
export class BusValidationError extends Error {
    override readonly name = 'BusValidationError';

    /** HTTP-like status: 400 (bad event name or payload) or 413 (payload too large). */
    readonly code: 400 | 413;

    constructor(code: 400 | 413, message: string) {
        super(message);
        this.code = code;
    }
}

/**
 * The caller's epoch is not the workspace's current one: Redis lost the
 * sequence and history, so `seq` values from the old epoch mean nothing.
 */
export class EpochMismatchError extends Error {
    override readonly name = 'EpochMismatchError';

    /** The workspace's current epoch. */
    readonly epoch: string;

    constructor(epoch: string) {
        super(`Epoch changed: the current epoch is ${epoch}`);
        this.epoch = epoch;
    }
}
