/** The HTTP-like `code` of an `error` frame on sockets, and the status of a refused nes request (DESIGN §5). */
export const ErrorCode = {
    badRequest: 400,
    unauthorized: 401,
    forbidden: 403,
    notFound: 404,
    conflict: 409,
    tooLarge: 413,
    tooMany: 429,
    internal: 500,
    unavailable: 503
} as const;

/** Payload of an `error` server message. */
export interface ErrorPayload {
    code: number;
    message: string;
}
