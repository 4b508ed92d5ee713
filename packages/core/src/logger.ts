import { pino, type Logger, type LoggerOptions } from 'pino';

/** Paths pino blanks in every log line: credentials never reach the logs. */
export const REDACT_PATHS = [
    'password',
    '*.password',
    'refresh',
    '*.refresh',
    'access',
    '*.access',
    'token',
    '*.token',
    'req.headers.authorization',
    'req.headers.cookie',
    'headers.authorization',
    '*.headers.authorization',
    'payload.password',
    'payload.refresh',
    'payload.token'
];

/** Removes secrets from a URL before it is logged (`?token=…`). */
export function redactUrl(url: string): string {
    return url.replace(/([?&](?:token|access|refresh|access_token)=)[^&#]*/gi, '$1[Redacted]');
}

/** pino options shared by every collab process. */
export function loggerOptions(level: string, name: string): LoggerOptions {
    return {
        name,
        level,
        redact: { paths: REDACT_PATHS, censor: '[Redacted]' }
    };
}

/** A JSON logger on stdout with collab's redaction. */
export function createLogger(level: string, name: string): Logger {
    return pino(loggerOptions(level, name));
}

export type { Logger };
