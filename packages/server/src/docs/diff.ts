import type * as Y from 'yjs';

/**
 * Turns `text` into `content` with one deletion and one insertion between
 * their common prefix and suffix, so the characters around the change (and
 * the cursors anchored to them) stay where they are. Never splits a
 * surrogate pair. Call inside a transaction.
 */
export function applyTextDiff(text: Y.Text, content: string): void {
    const current = text.toJSON();
    if (current === content) {
        return;
    }

    const max = Math.min(current.length, content.length);
    let prefix = 0;
    while (prefix < max && current.charCodeAt(prefix) === content.charCodeAt(prefix)) {
        prefix++;
    }

    if (prefix > 0 && isHighSurrogate(current.charCodeAt(prefix - 1))) {
        prefix--;
    }

    let suffix = 0;
    while (suffix < max - prefix && current.charCodeAt(current.length - 1 - suffix) === content.charCodeAt(content.length - 1 - suffix)) {
        suffix++;
    }

    if (suffix > 0 && isLowSurrogate(current.charCodeAt(current.length - suffix))) {
        suffix--;
    }

    const removed = current.length - prefix - suffix;
    if (removed > 0) {
        text.delete(prefix, removed);
    }

    const inserted = content.slice(prefix, content.length - suffix);
    if (inserted) {
        text.insert(prefix, inserted);
    }
}

function isHighSurrogate(code: number): boolean {
    return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
    return code >= 0xdc00 && code <= 0xdfff;
}
