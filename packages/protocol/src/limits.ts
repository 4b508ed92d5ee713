/** Largest frame a socket accepts; a bigger one closes it with 1009. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Largest accepted event payload, in bytes of its JSON text. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Largest file content, in bytes of UTF-8. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** Longest file path, in bytes of UTF-8. */
export const MAX_PATH_BYTES = 255;

/** JSON nested deeper than this is refused everywhere: bodies, event payloads, frames (DESIGN §4). */
export const MAX_JSON_DEPTH = 64;

/**
 * True when a parsed JSON value nests objects or arrays more than `limit`
 * levels deep (`{}` and `[]` are one level). Walks without recursion, so a
 * hostile value cannot overflow the stack, and stops at the first level
 * past the limit.
 */
export function exceedsJsonDepth(value: unknown, limit: number = MAX_JSON_DEPTH): boolean {
    let level: unknown[] = [value];
    for (let depth = 0; level.length; depth++) {
        const next: unknown[] = [];
        for (const item of level) {
            if (typeof item === 'object' && item !== null) {
                if (depth === limit) {
                    return true;
                }

                for (const child of Array.isArray(item) ? item : Object.values(item)) {
                    next.push(child);
                }
            }
        }

        level = next;
    }

    return false;
}
