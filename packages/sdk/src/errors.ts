/** The JSON body of an error response (hapi/Boom shaped), with whatever else the server added. */
export interface ErrorBody {
    statusCode?: number;
    error?: string;
    message?: string;
    /** The offending field of a 400. */
    field?: string;
    [key: string]: unknown;
}

/** What every `CollabError` is built from. */
export interface CollabErrorInit {
    message: string;
    /** HTTP status; 0 when no response arrived. */
    status: number;
    code: string;
    requestId?: string;
    field?: string;
    body?: ErrorBody;
    retryAfter?: number;
    cause?: unknown;
}

/**
 * Base class of every error the SDK throws for a failed request. Carries no token,
 * neither in its message nor in any property.
 */
export class CollabError extends Error {
    /** HTTP status; 0 when no response arrived (connection errors). */
    readonly status: number;
    /** Stable machine-readable code: `not_found`, `conflict`, `validation_failed`, `rate_limited`, `connection_failed`… */
    readonly code: string;
    /** The server's request id, when it sent one (`X-Request-Id`). */
    readonly requestId?: string;
    /** The field a 400 names, when it names one. */
    readonly field?: string;
    /** The parsed error body, e.g. `{epoch}` for a stale-epoch 409. */
    readonly body?: ErrorBody;

    constructor(init: CollabErrorInit) {
        super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
        this.name = new.target.name;
        this.status = init.status;
        this.code = init.code;
        this.requestId = init.requestId;
        this.field = init.field;
        this.body = init.body;
    }
}

/** 401: missing, invalid or expired credentials, or a wrong email or password on login. */
export class AuthenticationError extends CollabError {}

/** 403: the caller can see the resource, but their role does not allow this. */
export class PermissionError extends CollabError {}

/** 404: not found, or not visible to the caller. */
export class NotFoundError extends CollabError {}

/** 409: a conflict; `body` says more (e.g. `{epoch}` for a stale event history). */
export class ConflictError extends CollabError {}

/** 400 or 413: the request was refused as invalid; `field` names the offending field when the server does. */
export class ValidationError extends CollabError {}

/** 429: rate limited. */
export class RateLimitError extends CollabError {
    /** Seconds to wait, from `Retry-After`. */
    readonly retryAfter?: number;

    constructor(init: CollabErrorInit) {
        super(init);
        this.retryAfter = init.retryAfter;
    }
}

/** 5xx: the server failed. */
export class ServerError extends CollabError {}

/** No response: the server could not be reached (or the connection broke). */
export class ConnectionError extends CollabError {}

const CODES: Record<number, [string, typeof CollabError]> = {
    400: ['validation_failed', ValidationError],
    401: ['unauthorized', AuthenticationError],
    403: ['forbidden', PermissionError],
    404: ['not_found', NotFoundError],
    409: ['conflict', ConflictError],
    413: ['payload_too_large', ValidationError],
    429: ['rate_limited', RateLimitError]
};

/** Parses `Retry-After` (seconds or an HTTP date) into seconds. */
export function parseRetryAfter(value: string | null): number | undefined {
    if (!value) {
        return undefined;
    }

    const seconds = Number(value);
    if (Number.isFinite(seconds)) {
        return Math.max(0, seconds);
    }

    const date = Date.parse(value);
    return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function redactDeep(value: unknown, redact: (text: string) => string): unknown {
    if (typeof value === 'string') {
        return redact(value);
    }

    if (Array.isArray(value)) {
        return value.map((item) => redactDeep(item, redact));
    }

    if (value && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, redact)]));
    }

    return value;
}

/** The error for an HTTP error status. `redact` removes secrets from any text taken from the response. */
export function errorForStatus(status: number, body: ErrorBody, headers: Headers, redact: (text: string) => string): CollabError {
    const [code, Class] = CODES[status] ?? (status >= 500 ? ['server_error', ServerError] : ['http_error', CollabError]);
    const text = typeof body.message === 'string' && body.message ? body.message : body.error ?? `HTTP ${status}`;
    return new Class({
        message: redact(text),
        status,
        code,
        requestId: headers.get('x-request-id') ?? headers.get('request-id') ?? undefined,
        field: typeof body.field === 'string' ? body.field : undefined,
        body: redactDeep(body, redact) as ErrorBody,
        retryAfter: parseRetryAfter(headers.get('retry-after'))
    });
}
