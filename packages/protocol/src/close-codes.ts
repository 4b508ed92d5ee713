/** WebSocket close codes of both transports and the document endpoint (PROTOCOL.md). */
export const CloseCode = {
    /** Too many messages after being refused (rate limit). */
    policy: 1008,
    /** A document socket sent a message that is not valid y-websocket/Yjs (truncated, malformed). */
    invalidData: 1007,
    /** A frame over {@link MAX_FRAME_BYTES}. */
    tooBig: 1009,
    internal: 1011,
    /** The server is shutting down or restarting: reconnect. */
    restart: 1012,
    /** The server is at capacity: reconnect later. */
    tryAgain: 1013,
    /** A document URL whose file path is not valid (DESIGN §4 path rules). */
    badRequest: 4400,
    /** Bad, missing or expired token, not authenticated in time, or the account was deactivated. */
    unauthorized: 4401,
    /** No access to the workspace (or no such workspace), or access revoked. */
    forbidden: 4403,
    /** The client does not read fast enough. */
    slowConsumer: 4408,
    /** A document socket's file was deleted: the document is gone. */
    fileDeleted: 4410,
    /** Too many connections of this user. */
    tooMany: 4429
} as const;

/** One of the {@link CloseCode}s. */
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which a client should reconnect (with backoff), rather than give up or re-authenticate. */
export const RECONNECT_CLOSE_CODES: readonly number[] = [CloseCode.internal, CloseCode.restart, CloseCode.tryAgain, CloseCode.slowConsumer, CloseCode.tooMany];
