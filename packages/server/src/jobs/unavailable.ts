import Boom from '@hapi/boom';

const DOWN_CODES = new Set([
    'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE',
    '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006'
]);

/** Whether an error means the database could not be reached (rather than refused the query). */
export function isDatabaseDown(error: unknown): boolean {
    for (let current = error as { code?: unknown; name?: unknown; message?: unknown; nativeError?: unknown; cause?: unknown } | undefined, depth = 0;
        current && depth < 4; current = (current.nativeError ?? current.cause) as typeof current, depth++) {
        if (typeof current.code === 'string' && DOWN_CODES.has(current.code)) {
            return true;
        }

        if (current.name === 'KnexTimeoutError' || /Connection terminated|Timeout acquiring a connection|connect ECONNREFUSED/.test(String(current.message))) {
            return true;
        }
    }

    return false;
}

/** Runs a handler, answering 503 when the database cannot be reached. */
export async function withDatabase<T>(fn: () => PromiseLike<T>): Promise<T> {
    try {
        return await fn();
    }
    catch (error) {
        if (isDatabaseDown(error)) {
            throw Boom.serverUnavailable('The database is unavailable; try again later');
        }

        throw error;
    }
}
