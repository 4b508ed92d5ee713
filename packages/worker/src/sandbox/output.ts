import { StringDecoder } from 'node:string_decoder';

/** Bytes kept of each of stdout and stderr. */
export const OUTPUT_CAP_BYTES = 64 * 1024;

/**
 * Keeps the first `cap` bytes of one stream and counts the rest. Past the
 * cap, chunks are dropped but the pipe is still drained, so the program is
 * never blocked on a full pipe and ends by itself or by its limits; worker
 * memory stays at the cap whatever the program writes.
 */
export class CappedOutput {
    readonly #decoder = new StringDecoder('utf8');
    readonly #cap: number;
    readonly #onText: ((text: string) => void) | undefined;
    #text = '';
    #kept = 0;
    #total = 0;

    constructor(cap: number, onText?: (text: string) => void) {
        this.#cap = cap;
        this.#onText = onText;
    }

    /** Whether bytes were dropped. */
    get truncated(): boolean {
        return this.#total > this.#kept;
    }

    /** Everything the program wrote, kept or not. */
    get totalBytes(): number {
        return this.#total;
    }

    /** The kept text; a character cut by the cap is left out. */
    get text(): string {
        return this.#text;
    }

    /** Accepts one chunk read from the pipe. */
    push(chunk: Buffer): void {
        this.#total += chunk.length;
        const room = this.#cap - this.#kept;
        if (room <= 0) {
            return;
        }
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        this.#kept += part.length;
        const text = this.#decoder.write(part);
        if (text.length > 0) {
            this.#text += text;
            this.#onText?.(text);
        }
    }

    /** Counts bytes the program wrote that were dropped before they got here. */
    discard(bytes: number): void {
        this.#total += bytes;
    }

    /** Flushes a trailing partial character when the stream ended within the cap. */
    end(): void {
        if (this.truncated) {
            return;
        }
        const rest = this.#decoder.end();
        if (rest.length > 0) {
            this.#text += rest;
            this.#onText?.(rest);
        }
    }
}
