import Boom from '@hapi/boom';
import { MAX_FILE_BYTES, pathProblem } from '@collab/protocol';

// Lone surrogates would be replaced on the way to the database and come back as another string.
const wellFormed = (text: string) => !/[\uD800-\uDFFF]/.test(text) || Buffer.from(text, 'utf8').toString('utf8') === text;

function badRequest(field: string, message: string): Boom.Boom {
    const error = Boom.badRequest(message);
    (error.output.payload as unknown as Record<string, unknown>).field = field;
    return error;
}

/** Throws 400 naming `path` unless the path is valid. */
export function checkPath(path: string): void {
    const problem = pathProblem(path);
    if (problem) {
        throw badRequest('path', `path ${problem}`);
    }
}

/** Returns the content's size in bytes; throws 413 above 1 MiB, 400 naming `content` for text PostgreSQL cannot store. */
export function checkContent(content: string): number {
    const size = Buffer.byteLength(content, 'utf8');
    if (size > MAX_FILE_BYTES) {
        throw Boom.entityTooLarge(`content is ${size} bytes; a file holds at most ${MAX_FILE_BYTES} bytes (1 MiB) of UTF-8`);
    }

    if (content.includes('\0')) {
        throw badRequest('content', 'content must not contain NUL characters');
    }

    if (!wellFormed(content)) {
        throw badRequest('content', 'content must be valid Unicode');
    }

    return size;
}
