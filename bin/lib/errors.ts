import { AuthenticationError, CollabError, ConflictError, ConnectionError, NotFoundError, PermissionError, RateLimitError, ServerError, ValidationError } from '@collab/sdk';
import { CommanderError } from 'commander';

/** Exit codes: 0 ok, 1 error, 2 usage; 124 a job that timed out (as timeout(1)). */
export const EXIT = { ok: 0, error: 1, usage: 2, timedOut: 124 } as const;

/** An error whose message is already the one sentence to show. */
export class CliError extends Error {
    readonly exitCode: number;

    constructor(message: string, exitCode: number = EXIT.error) {
        super(message);
        this.name = 'CliError';
        this.exitCode = exitCode;
    }
}

/** A usage mistake (exit code 2). */
export class UsageError extends CliError {
    constructor(message: string) {
        super(message, EXIT.usage);
        this.name = 'UsageError';
    }
}

/** What the failing command was doing, for the sentence: the server and e.g. `show project 3`. */
export interface Situation {
    server: string;
    action: string;
    /** Whether the command ran with credentials (saved, or `COLLAB_TOKEN`). */
    credentials: 'saved' | 'env' | 'none';
}

const sentence = (text: string) => text.replace(/\s+/g, ' ').trim().replace(/[.:]$/, '') + '.';
const lower = (text: string) => (/^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text);

/** One human sentence and an exit code for any error; never a stack trace. */
export function explain(err: unknown, situation: Situation): { message: string; exitCode: number } {
    const { server, action } = situation;
    if (err instanceof CliError) {
        return { message: sentence(err.message), exitCode: err.exitCode };
    }

    if (err instanceof CommanderError) {
        return { message: sentence(err.message.replace(/^error: /, '')), exitCode: EXIT.usage };
    }

    if (!(err instanceof CollabError)) {
        return { message: sentence(`Unexpected error: ${err instanceof Error ? err.message : String(err)}`), exitCode: EXIT.error };
    }

    return { message: sentence(describe(err, situation, server, action)), exitCode: EXIT.error };
}

function describe(err: CollabError, situation: Situation, server: string, action: string): string {
    if (err instanceof ConnectionError) {
        return `Cannot reach the collab server at ${server}`;
    }

    if (err instanceof AuthenticationError) {
        if (err.code === 'account_deactivated') {
            return 'Your account has been deactivated: ask an administrator';
        }

        if (situation.credentials === 'env') {
            return 'The server refused the token in COLLAB_TOKEN (expired or invalid)';
        }

        return situation.credentials === 'none' ? `You are not logged in to ${server}: run collab login` : 'Your login has expired: run collab login';
    }

    if (err instanceof ValidationError) {
        if (err.status === 413) {
            return `Cannot ${action}: too large (${lower(err.message)})`;
        }

        return err.field ? `Invalid ${err.field}: ${err.message}` : `Cannot ${action}: ${lower(err.message)}`;
    }

    if (err instanceof RateLimitError) {
        return `The server is rate limiting requests: try again${err.retryAfter === undefined ? ' later' : ` in ${err.retryAfter} seconds`}`;
    }

    if (err instanceof ServerError) {
        return `The collab server failed to ${action} (HTTP ${err.status}${err.requestId ? `, request ${err.requestId}` : ''})`;
    }

    if (err instanceof NotFoundError || err instanceof PermissionError || err instanceof ConflictError) {
        return `Cannot ${action}: ${lower(err.message)}`;
    }

    return `Cannot ${action}: ${lower(err.message)} (HTTP ${err.status})`;
}
