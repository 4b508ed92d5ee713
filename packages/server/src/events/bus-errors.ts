import Boom from '@hapi/boom';
import { BusValidationError, EpochMismatchError } from '@collab/core';

/**
 * The client error for a failed bus or presence call: 400/413 for a refused
 * publish, 409 `{epoch}` for a stale epoch, 503 for anything else (Redis
 * down or not answering). Boom errors pass through.
 */
export function busError(err: unknown): Boom.Boom {
    if (Boom.isBoom(err)) {
        return err;
    }

    if (err instanceof BusValidationError) {
        const error = new Boom.Boom(err.message, { statusCode: err.code });
        if (err.code === 400) {
            (error.output.payload as unknown as Record<string, unknown>).field = err.message.startsWith('event') ? 'event' : 'payload';
        }

        return error;
    }

    if (err instanceof EpochMismatchError) {
        const error = Boom.conflict(err.message);
        (error.output.payload as unknown as Record<string, unknown>).epoch = err.epoch;
        return error;
    }

    if (err instanceof TypeError) {
        return Boom.boomify(err);                   // a programmer mistake: 500
    }

    return Boom.serverUnavailable('The event bus (Redis) is unavailable: try again shortly');
}

/** Runs a bus or presence call, turning its failure into {@link busError}. */
export async function viaBus<T>(call: () => Promise<T>): Promise<T> {
    try {
        return await call();
    }
    catch (err) {
        throw busError(err);
    }
}
