import type { DocChannels } from '@collab/core';

import { encodeRelay, type Editor } from './messages.js';
import { applyTextDiff } from './diff.js';
import { SharedDoc } from './shared-doc.js';
import { docId, type DocKey, type DocStore } from './store.js';

/** Timings of documents; tests shorten them. */
export interface DocSettings {
    /** A document without sockets is unloaded after this long. */
    idleMs: number;
    /** The file follows the document this long after the last edit... */
    quietMs: number;
    /** ...and at least this often while edits go on. */
    maxWaitMs: number;
    /** Appended updates after which a document is compacted into its snapshot while edits go on... */
    compactEvery: number;
    /** ...and, once edits pause for this long, whatever it appended. */
    compactIdleMs: number;
    /** Awareness states not renewed for this long are removed. */
    awarenessTimeoutMs: number;
    /** A document without an edit for this long keeps only its encoded state until it is used again. */
    sleepAfterMs: number;
}

/** Default {@link DocSettings}: unloaded within 60 s, the file written within 2 s, cursors gone within 30 s. */
export const DOC_SETTINGS: DocSettings = { idleMs: 30_000, quietMs: 750, maxWaitMs: 5_000, compactEvery: 2_000, compactIdleMs: 2_000, awarenessTimeoutMs: 22_000, sleepAfterMs: 10_000 };

/** What the registry needs besides the store and channels: the file rows. */
export interface DocFiles {
    /** The file's current content ('' when there is none): a document without state starts from it. */
    read(key: DocKey): Promise<string>;
    /** Writes the document's text to the file row (a new revision and one `file_change`) unless it is already there, or the document's state is gone. */
    write(key: DocKey, text: string, editor: Editor): Promise<void>;
    /** Deletes the file row and the document's stored state in one transaction; false (and nothing deleted) when there is no file. */
    remove(key: DocKey): Promise<boolean>;
}

/** What {@link DocRegistry} takes. */
export interface DocRegistryOptions {
    store: DocStore;
    channels: DocChannels;
    files: DocFiles;
    instanceId: string;
    settings: DocSettings;
    onError(err: Error): void;
}

interface Entry {
    key: DocKey;
    users: number;
    loading: Promise<SharedDoc>;
    doc?: SharedDoc;
    unsubscribe?: () => void;
    timer?: NodeJS.Timeout;
    unloading?: Promise<void>;
}

const SWEEP_MS = 2_000;

/**
 * The documents this instance holds in memory, loaded only while it has
 * editors of them (or a REST write is being applied) and unloaded
 * `idleMs` after the last one leaves. Each loaded document listens to its
 * channel, so updates cross to other instances once each.
 */
export class DocRegistry {
    private readonly entries = new Map<string, Entry>();
    private readonly sweeper: NodeJS.Timeout;
    private readonly stopReconnects: () => void;
    private closed = false;

    constructor(private readonly options: DocRegistryOptions) {
        this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
        this.sweeper.unref();
        this.stopReconnects = options.channels.onReconnect(() => {
            for (const entry of this.entries.values()) {
                entry.doc?.catchUp();
            }
        });
    }

    /** Loaded documents, those of them asleep, and the bytes of their states (metrics). */
    stats(): { loaded: number; asleep: number; bytes: number } {
        let bytes = 0;
        let loaded = 0;
        let asleep = 0;
        for (const entry of this.entries.values()) {
            if (entry.doc) {
                loaded++;
                asleep += entry.doc.state.asleep ? 1 : 0;
                bytes += entry.doc.state.bytes;
            }
        }

        return { loaded, asleep, bytes };
    }

    /** Loads (or finds) a document and holds it until {@link release}. */
    async acquire(key: DocKey): Promise<SharedDoc> {
        if (this.closed) {
            throw new Error('the document registry is closed');
        }

        const id = docId(key);
        let entry = this.entries.get(id);
        while (entry?.unloading) {
            await entry.unloading;
            entry = this.entries.get(id);
        }

        if (!entry) {
            const created = { key, users: 0 } as Entry;
            created.loading = this.load(created);
            created.loading.catch(() => this.drop(created));
            this.entries.set(id, created);
            entry = created;
        }

        entry.users++;
        clearTimeout(entry.timer);
        try {
            return await entry.loading;
        }
        catch (err) {
            this.letGo(entry, this.options.settings.idleMs);
            throw err;
        }
    }

    /** Lets go of a document {@link acquire} gave; it is unloaded `idleMs` (by default the setting's) after its last holder left. */
    release(doc: SharedDoc, idleMs = this.options.settings.idleMs): void {
        const entry = this.entries.get(docId(doc.key));
        if (entry?.doc === doc) {
            this.letGo(entry, idleMs);
        }
    }

    private letGo(entry: Entry, idleMs: number): void {
        if (--entry.users > 0 || entry.unloading) {
            return;
        }

        clearTimeout(entry.timer);
        entry.timer = setTimeout(() => void this.unload(entry), idleMs);
        entry.timer.unref();
    }

    /**
     * A file was written over REST (PUT or a `file_change` event): a document
     * with stored state takes the new content as a minimal edit, so its
     * editors see it at once and its state stays the file's.
     */
    async fileWritten(key: DocKey, content: string, editor: Editor): Promise<void> {
        if (!this.entries.has(docId(key)) && !await this.options.store.exists(key)) {
            return;
        }

        const doc = await this.acquire(key);
        try {
            doc.edit(editor, (text) => applyTextDiff(text, content));
            await doc.stored();
        }
        finally {
            // Loaded for this write only (no editor here): let it go at once.
            this.release(doc, doc.size ? undefined : 0);
        }
    }

    /**
     * Deletes a file with its document's stored state, then has every
     * instance holding the document drop it without writing anything, its
     * editors closed with 4410. False when there was no file.
     */
    async deleteFile(key: DocKey): Promise<boolean> {
        const { files, channels, instanceId, onError } = this.options;
        if (!await files.remove(key)) {
            return false;
        }

        this.entries.get(docId(key))?.loading.catch(() => undefined).then((doc) => doc?.deleted()).catch(onError);
        // Should this publish fail, the others learn it at their next edit: its append finds the state gone.
        await channels.publish(key.workspaceId, key.path, encodeRelay({ type: 'deleted', from: instanceId })).catch(onError);
        return true;
    }

    /** Unloads every document (writing files and storing what waits); later acquires fail. */
    async close(): Promise<void> {
        this.closed = true;
        clearInterval(this.sweeper);
        this.stopReconnects();
        await Promise.all([...this.entries.values()].map((entry) => this.unload(entry)));
    }

    private async load(entry: Entry): Promise<SharedDoc> {
        const { key } = entry;
        const { store, channels, files, instanceId, settings, onError } = this.options;
        const state = await store.load(key, () => files.read(key));
        const doc = new SharedDoc(key, state, {
            store,
            instanceId,
            publish: (message) => channels.publish(key.workspaceId, key.path, message),
            writeFile: (text, editor) => files.write(key, text, editor),
            timing: settings,
            compactEvery: settings.compactEvery,
            compactIdleMs: settings.compactIdleMs,
            awarenessTimeoutMs: settings.awarenessTimeoutMs,
            sleepAfterMs: settings.sleepAfterMs,
            onBroken: () => this.drop(entry),
            onError
        });
        entry.doc = doc;
        // Subscribed in the background: while Redis is away the document works on this instance and catches up after.
        channels.subscribe(key.workspaceId, key.path, (message) => doc.receive(message)).then((unsubscribe) => {
            if (this.entries.get(docId(key)) !== entry || entry.unloading) {
                unsubscribe();
                return;
            }

            entry.unsubscribe = unsubscribe;
            doc.catchUp();
        }).catch(onError);
        return doc;
    }

    private unload(entry: Entry): Promise<void> {
        clearTimeout(entry.timer);
        entry.unloading ??= (async () => {
            entry.unsubscribe?.();
            const doc = await entry.loading.catch(() => undefined);
            await doc?.close().catch(this.options.onError);
            if (this.entries.get(docId(entry.key)) === entry) {
                this.entries.delete(docId(entry.key));
            }
        })();
        return entry.unloading;
    }

    // A broken document leaves the map at once: the next acquire loads a fresh copy from the database.
    private drop(entry: Entry): void {
        if (this.entries.get(docId(entry.key)) === entry) {
            this.entries.delete(docId(entry.key));
        }

        clearTimeout(entry.timer);
        entry.unsubscribe?.();
        entry.unsubscribe = undefined;
        entry.doc?.destroy();
    }

    private sweep(): void {
        const now = Date.now();
        for (const entry of this.entries.values()) {
            entry.doc?.sweep(now);
        }
    }
}
