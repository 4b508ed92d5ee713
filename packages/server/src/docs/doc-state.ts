import { DOC_TEXT_NAME, MAX_FILE_BYTES } from '@collab/protocol';
import * as Y from 'yjs';

import { GENERATION_KEY, GENERATION_MAP } from './store.js';

const MAX_STATE_BYTES = 4 * MAX_FILE_BYTES;

/** An update as `Y.decodeUpdate` gives it. */
export type DecodedUpdate = ReturnType<typeof Y.decodeUpdate>;

/** Receives each change of the document: the update and its transaction's origin. */
export type UpdateListener = (update: Uint8Array, origin: unknown) => void;

/**
 * A loaded document's Yjs state, and what tells whether an update may be
 * applied to it. It is either awake (a `Y.Doc` and its text) or asleep (only
 * its encoded state, about the size of its text): a state vector and what a
 * peer lacks are answered from either; reading `doc` or `text` wakes it up.
 */
export class DocState {
    private awake: { doc: Y.Doc; text: Y.Text } | undefined;
    private encoded: Uint8Array | undefined;
    private sizeCache: number | undefined;
    /** An upper bound of the encoded state's size: bytes loaded plus bytes applied, measured again near the limit. */
    private estimate: number;
    private used = Date.now();

    constructor(state: Uint8Array, private readonly onUpdate: UpdateListener) {
        this.encoded = state;
        this.estimate = state.byteLength;
        this.wake();
    }

    /** The Yjs document (woken up if it sleeps). */
    get doc(): Y.Doc {
        return (this.awake ?? this.wake()).doc;
    }

    /** The document's text (woken up if it sleeps). */
    get text(): Y.Text {
        return (this.awake ?? this.wake()).text;
    }

    /** True while only the encoded state is in memory. */
    get asleep(): boolean {
        return this.encoded !== undefined;
    }

    /** When the document last changed or woke up (ms since the epoch). */
    get lastUsed(): number {
        return this.used;
    }

    /** Bytes of the state, encoded (the memory metric). */
    get bytes(): number {
        this.sizeCache ??= this.encoded?.byteLength ?? Y.encodeStateAsUpdate(this.doc).byteLength;
        return this.sizeCache;
    }

    /** True while an applied update waits for a missing dependency (structs or deletions Yjs holds back). */
    get waiting(): boolean {
        const store = this.awake?.doc.store;
        return !!store && (!!store.pendingStructs || !!store.pendingDs);
    }

    /** The state vector (a sleeping document stays asleep). */
    stateVector(): Uint8Array {
        return this.encoded ? Y.encodeStateVectorFromUpdate(this.encoded) : Y.encodeStateVector(this.doc);
    }

    /** What a peer with `stateVector` lacks, as one update (a sleeping document stays asleep). */
    missing(stateVector: Uint8Array): Uint8Array {
        return this.encoded ? Y.diffUpdate(this.encoded, stateVector) : Y.encodeStateAsUpdate(this.doc, stateVector);
    }

    /** Keeps only the encoded state; the next use decodes it again. */
    sleep(): void {
        if (!this.awake) {
            return;
        }

        const { doc } = this.awake;
        this.encoded = Y.encodeStateAsUpdate(doc);
        this.awake = undefined;
        doc.off('update', this.changed);
        doc.destroy();
    }

    /** Frees the state. */
    destroy(): void {
        this.awake?.doc.destroy();
        this.awake = undefined;
        this.encoded = undefined;
    }

    /**
     * True when the text stays within 1 MiB of UTF-8 with `update` applied,
     * and the whole state (other shared types, history) within 4 MiB.
     * Cheap while the text is far from it (bytes ≤ 3 per UTF-16 unit; an
     * update cannot insert more bytes than it has); near it, tried on a copy.
     */
    fits(update: Uint8Array): boolean {
        if (this.estimate + update.byteLength > MAX_STATE_BYTES) {
            this.estimate = Y.encodeStateAsUpdate(this.doc).byteLength;
            if (this.estimate + update.byteLength > MAX_STATE_BYTES) {
                return false;
            }
        }

        const { store } = this.doc;
        const pending = (store.pendingStructs?.update.byteLength ?? 0) + (store.pendingDs?.byteLength ?? 0);
        if (3 * this.text.length + update.byteLength + pending <= MAX_FILE_BYTES) {
            return true;
        }

        const trial = new Y.Doc();
        try {
            Y.applyUpdate(trial, Y.encodeStateAsUpdate(this.doc));
            Y.applyUpdate(trial, update);
            const trialPending = trial.store.pendingStructs?.update.byteLength ?? 0;
            return Buffer.byteLength(trial.getText(DOC_TEXT_NAME).toJSON()) + trialPending <= MAX_FILE_BYTES;
        }
        finally {
            trial.destroy();
        }
    }

    /** True when a decoded update would change the document (structs or deletions it does not have). */
    novel({ structs, ds }: DecodedUpdate): boolean {
        const { store } = this.doc;
        if (structs.some((struct) => struct.id.clock + struct.length > Y.getState(store, struct.id.client))) {
            return true;
        }

        if (ds.clients.size === 0) {
            return false;
        }

        const own = Y.createDeleteSetFromStructStore(store);
        for (const [client, ranges] of ds.clients) {
            const covered = own.clients.get(client) ?? [];
            for (const range of ranges) {
                if (!covered.some((item) => item.clock <= range.clock && item.clock + item.len >= range.clock + range.len)) {
                    return true;
                }
            }
        }

        return false;
    }

    /** True when a decoded update carries the generation entry of another document: its sender holds the state of a file deleted since. */
    stale({ structs }: DecodedUpdate): boolean {
        // A decoded item names its root type by name (a string), not by the type.
        return structs.some((struct) => struct instanceof Y.Item && (struct.parent as unknown) === GENERATION_MAP && struct.parentSub === GENERATION_KEY
            && struct.id.clock + struct.length > Y.getState(this.doc.store, struct.id.client));
    }

    private readonly changed = (update: Uint8Array, origin: unknown): void => {
        this.sizeCache = undefined;
        this.estimate += update.byteLength;
        this.used = Date.now();
        this.onUpdate(update, origin);
    };

    private wake(): { doc: Y.Doc; text: Y.Text } {
        const doc = new Y.Doc();
        Y.applyUpdate(doc, this.encoded!);
        doc.on('update', this.changed);
        this.encoded = undefined;
        this.used = Date.now();
        this.awake = { doc, text: doc.getText(DOC_TEXT_NAME) };
        return this.awake;
    }
}
