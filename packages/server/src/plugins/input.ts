import Boom from '@hapi/boom';
import type { Lifecycle, Plugin } from '@hapi/hapi';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '@collab/protocol';

declare module '@hapi/hapi' {
    interface PluginSpecificConfiguration {
        /** Route settings of the input checks. */
        'collab-input'?: {
            /** Top-level body fields that may hold NUL characters (an event's `payload` goes to Redis, not PostgreSQL). */
            nulAllowed?: readonly string[];
        };
    }
}

function badRequest(field: string, message: string): Boom.Boom {
    const error = Boom.badRequest(message);
    (error.output.payload as unknown as Record<string, unknown>).field = field;
    return error;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The top-level field whose value nests too deep, or `body` when the body itself does. */
function tooDeep(payload: unknown): string | undefined {
    if (!exceedsJsonDepth(payload, MAX_JSON_DEPTH)) {
        return undefined;
    }

    if (isObject(payload)) {
        for (const [key, value] of Object.entries(payload)) {
            if (exceedsJsonDepth(value, MAX_JSON_DEPTH - 1)) {
                return key;
            }
        }
    }

    return 'body';
}

/**
 * The dotted path of the first string holding a NUL character, keys
 * included. Called on values already known to nest at most
 * MAX_JSON_DEPTH levels, so the recursion is bounded.
 */
function nulAt(value: unknown, path: string, skip: readonly string[] = []): string | undefined {
    if (typeof value === 'string') {
        return value.includes('\0') ? path : undefined;
    }

    if (typeof value !== 'object' || value === null) {
        return undefined;
    }

    for (const [key, child] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
        const at = path ? `${path}.${key}` : String(key);
        if (typeof key === 'string' && key.includes('\0')) {
            return at;
        }

        const found = skip.includes(String(key)) ? undefined : nulAt(child, at);
        if (found !== undefined) {
            return found;
        }
    }

    return undefined;
}

/**
 * Refuses, before validation and for every route, a JSON body nested deeper
 * than MAX_JSON_DEPTH (400 naming the field) and a NUL character in any
 * string of the body or the query (400 naming the field): PostgreSQL's text
 * columns cannot store NUL. Path parameters are left to each route (a job
 * id of the wrong shape is a 404).
 */
const guard: Lifecycle.Method = (request, h) => {
    const { payload, query } = request;
    if (!Buffer.isBuffer(payload)) {
        const deep = tooDeep(payload);
        if (deep !== undefined) {
            throw badRequest(deep, `${deep} nests JSON deeper than ${MAX_JSON_DEPTH} levels`);
        }

        const field = nulAt(payload, '', request.route.settings.plugins?.['collab-input']?.nulAllowed);
        if (field !== undefined) {
            throw badRequest(field || 'body', `${field || 'body'} must not contain NUL characters`);
        }
    }

    const field = nulAt(query, '');
    if (field !== undefined) {
        throw badRequest(field, `${field} must not contain NUL characters`);
    }

    return h.continue;
};

/** Checks every request's body and query once, for all routes (DESIGN §4: NUL and JSON depth). */
export const inputPlugin: Plugin<void> = {
    name: 'collab-input',
    version: '1.0.0',
    register: (server) => {
        server.ext('onPostAuth', guard);
    }
};
