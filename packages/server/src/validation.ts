import Boom from '@hapi/boom';
import type { Lifecycle } from '@hapi/hapi';
import type { ValidationError } from 'joi';

/** Turns a joi validation failure into a 400 whose message and `field` name the offending field. */
export const failAction: Lifecycle.Method = (_request, _h, err) => {
    const details = (err as ValidationError | undefined)?.details?.[0];
    const error = Boom.badRequest(details ? details.message.replace(/"/g, '') : err?.message ?? 'Invalid request');
    if (details) {
        (error.output.payload as unknown as Record<string, unknown>).field = details.path.join('.');
    }

    throw error;
};
