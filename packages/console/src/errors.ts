import { AuthenticationError, CollabError, ConflictError, ConnectionError, NotFoundError, PermissionError, RateLimitError, ServerError, ValidationError } from '@collab/sdk';

/** A refusal of the console's own, whose message is already a sentence for people. */
export class Refusal extends Error {}

/** A failure as one sentence for people: never JSON, never a stack trace. */
export function describeError(err: unknown): string {
    if (err instanceof Refusal) {
        return err.message;
    }

    if (err instanceof ConnectionError) {
        return 'The server cannot be reached. Check the connection and try again.';
    }

    if (err instanceof AuthenticationError) {
        return err.code === 'session_expired' || err.code === 'account_deactivated'
            ? 'Your session has expired. Sign in again.'
            : 'The email or password is not right.';
    }

    if (err instanceof PermissionError) {
        return 'Your role in this project does not allow that.';
    }

    if (err instanceof NotFoundError) {
        return 'That no longer exists, or you have no access to it.';
    }

    if (err instanceof RateLimitError) {
        return err.retryAfter ? `Too many requests. Try again in ${err.retryAfter} seconds.` : 'Too many requests. Try again shortly.';
    }

    if (err instanceof ServerError) {
        return 'The server could not do that. Try again later.';
    }

    if (err instanceof ValidationError || err instanceof ConflictError) {
        return sentence(err.message);
    }

    if (err instanceof CollabError) {
        return sentence(err.message);
    }

    return 'Something went wrong. Reload the page and try again.';
}

/** A server message as a sentence: joi's quoted field names unquoted, capitalized, one full stop. */
export function sentence(message: string): string {
    const text = message.replace(/"([a-z_]+)"/g, (_, name: string) => name.replace(/_/g, ' ')).trim();
    if (!text || text.startsWith('{') || text.startsWith('[')) {
        return 'The request was refused.';
    }

    const capitalized = text[0]!.toUpperCase() + text.slice(1);
    return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}
