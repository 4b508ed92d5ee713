import type { Editor } from './messages.js';

/** Writes a document's text to its file row; resolves once written (or found unchanged). */
export type MirrorWrite = (text: string, editor: Editor) => Promise<void>;

/** When the file follows the document: after `quietMs` without an edit, and at least every `maxWaitMs` while edits go on. */
export interface MirrorTiming {
    quietMs: number;
    maxWaitMs: number;
}

/**
 * Keeps a file's REST view following its document, debounced: one write
 * (one revision, one `file_change`) after the edits pause, not one per
 * keystroke. Every instance holding the document mirrors it; the write only
 * changes the row when the text differs, so instances that converged write
 * one revision between them.
 */
export class FileMirror {
    private timer: NodeJS.Timeout | undefined;
    private firstEdit = 0;
    private lastEdit = 0;
    private editor: Editor | null = null;
    private writing: Promise<void> = Promise.resolve();

    constructor(private readonly text: () => string, private readonly write: MirrorWrite, private readonly timing: MirrorTiming, private readonly onError: (err: Error) => void) {}

    /** The document changed (by `editor` when known). */
    touch(editor: Editor | null): void {
        this.editor = editor ?? this.editor;
        this.lastEdit = Date.now();
        if (!this.timer) {
            // One timer per quiet period, not one per keystroke: when it fires early, it waits for what is left.
            this.firstEdit = this.lastEdit;
            this.arm();
        }
    }

    /** True when no edit waits to be written (a write in flight holds its own text). */
    get idle(): boolean {
        return this.timer === undefined;
    }

    /** Forgets the edit waiting to be written (the file was deleted); a write in flight checks for itself. */
    cancel(): void {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.editor = null;
    }

    /** Writes now if an edit is waiting; resolves once no write is in flight. */
    async flush(): Promise<void> {
        if (this.timer) {
            clearTimeout(this.timer);
            this.timer = undefined;
            const editor = this.editor;
            if (editor) {
                const text = this.text();
                this.writing = this.writing.then(() => this.write(text, editor)).catch(this.onError);
            }
        }

        await this.writing;
    }

    private arm(): void {
        this.timer = setTimeout(this.fire, Math.max(0, this.due() - Date.now()));
        this.timer.unref();
    }

    private readonly fire = (): void => {
        if (this.due() > Date.now()) {
            this.arm();
            return;
        }

        this.flush().catch(this.onError);
    };

    // After `quietMs` without an edit, or `maxWaitMs` after the first one.
    private due(): number {
        return Math.min(this.lastEdit + this.timing.quietMs, this.firstEdit + this.timing.maxWaitMs);
    }
}
