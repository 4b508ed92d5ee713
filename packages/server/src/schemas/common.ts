import Joi from 'joi';

/** An integer id in a path or body. */
export const id = Joi.number().integer().min(1).max(2147483647);

/** ISO 8601 timestamp. */
export const timestamp = Joi.string().isoDate();

/** A Boom error body. */
export const errorBody = Joi.object({
    statusCode: Joi.number().integer().required(),
    error: Joi.string().required(),
    message: Joi.string().allow('').required(),
    field: Joi.string()
}).unknown(true).label('Error');

/** `limit` and `cursor` of every list (DESIGN §4); a cursor can hold a 255-byte file path, JSON-escaped, in base64url. */
export const pageQuery = {
    limit: Joi.number().integer().min(1).max(200).default(50).description('Items per page (max 200)'),
    cursor: Joi.string().max(1024).description('Opaque cursor from the previous page\'s Link header')
};

/** Swagger responses for the errors every authenticated route can answer. */
export function errors(...codes: number[]): Record<number, { description: string; schema: Joi.Schema }> {
    const text: Record<number, string> = {
        400: 'Invalid request (the message names the field)',
        401: 'Missing, invalid or expired access token',
        403: 'Visible, but the caller\'s role does not allow this',
        404: 'Not found, or not visible to the caller',
        409: 'Conflict',
        413: 'Payload too large',
        429: 'Rate limited (see Retry-After)',
        503: 'A backing service is unavailable'
    };
    return Object.fromEntries(codes.map((code) => [code, { description: text[code] ?? 'Error', schema: errorBody }]));
}
