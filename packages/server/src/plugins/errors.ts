import Boom from '@hapi/boom';
import type { Plugin } from '@hapi/hapi';
import { CheckViolationError, DataError, ForeignKeyViolationError, NotNullViolationError, UniqueViolationError } from 'objection';

// PostgreSQL's class 22 (data exception: a NUL byte, a value out of range…), through objection or from a raw query.
function isDataException(error: Error): boolean {
    return error instanceof DataError || /^22[0-9A-Z]{3}$/.test(String((error as { code?: unknown }).code));
}

/** Maps database constraint errors to client errors (objection's recipe); anything else stays a 500 without internals. */
export const errorsPlugin: Plugin<void> = {
    name: 'collab-errors',
    version: '1.0.0',
    register: (server) => {
        server.ext('onPreResponse', (request, h) => {
            const response = request.response;
            if (!Boom.isBoom(response) || response.output.statusCode !== 500) {
                return h.continue;
            }

            if (response instanceof UniqueViolationError) {
                return Boom.conflict('Already exists');
            }

            if (response instanceof ForeignKeyViolationError) {
                return Boom.conflict('Refers to something that does not exist');
            }

            if (response instanceof CheckViolationError || response instanceof NotNullViolationError || isDataException(response)) {
                return Boom.badRequest('Invalid value');
            }

            return h.continue;
        });
    }
};
