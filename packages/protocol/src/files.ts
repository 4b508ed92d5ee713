import { MAX_PATH_BYTES } from './limits.js';

/** The length of a string in UTF-8 (a lone surrogate counts as the 3 bytes of its replacement). */
export function utf8Length(text: string): number {
    let bytes = 0;
    for (const char of text) {
        const code = char.codePointAt(0)!;
        bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    }

    return bytes;
}
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a workspace file path is refused, or null when it is a valid relative, `/`-separated path
 * (DESIGN §4). The server answers 400 naming `path` with it; the CLI refuses such an argument.
 */
export function pathProblem(path: string): string | null {
    if (path === '') {
        return 'must not be empty';
    }

    if (utf8Length(path) > MAX_PATH_BYTES) {
        return `must be at most ${MAX_PATH_BYTES} bytes (UTF-8)`;
    }

    if (path.startsWith('/')) {
        return 'must be relative (no leading /)';
    }

    if (path.includes('\\')) {
        return 'must use / as the separator (no backslash)';
    }

    if (/[\u0000-\u001f\u007f]/.test(path)) {
        return 'must not contain NUL or control characters';
    }

    if (loneSurrogate.test(path)) {
        return 'must be valid Unicode';
    }

    for (const segment of path.split('/')) {
        if (segment === '') {
            return 'must not contain empty segments';
        }

        if (segment === '.' || segment === '..') {
            return 'must not contain . or .. segments';
        }
    }

    return null;
}
