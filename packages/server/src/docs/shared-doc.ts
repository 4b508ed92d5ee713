import { CloseCode, DocSyncStep } from '@collab/protocol';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import * as Y from 'yjs';

import { FileMirror, type MirrorTiming, type MirrorWrite } from './file-mirror.js';
import { awarenessMessage, decodeAwareness, decodeRelay, encodeAwareness, encodeRelay, relayedUpdate, syncMessage, type AwarenessEntry, type Editor, type RelayMessage } from './messages.js';
import { DocState } from './doc-state.js';
import { DocDeleted, type DocKey, type DocStore } from './store.js';

/** The transport side of one editor's socket. */
export interface DocPeer {
    send(message: Uint8Array): void;
    close(code: number, reason: string): void;
}

/** An edit's origin that is not a socket (a REST write made a minimal edit). */
export interface ServerEdit {
    editor: Editor;
}

/** A socket's place in a document, as {@link SharedDoc} sees it: its peer and who it is. */
export interface DocMember {
    readonly peer: DocPeer;
    readonly editor: Editor;
}

/** What a document needs from the registry that holds it. */
export interface SharedDocDeps {
    store: DocStore;
    instanceId: string;
    /** Publishes a message to the other instances holding the document. */
    publish(message: Uint8Array): Promise<void>;
    writeFile: MirrorWrite;
    timing: MirrorTiming;
    /** Appended updates after which the document is compacted into its snapshot while edits go on... */
    compactEvery: number;
    /** ...and, once edits pause for this long, whatever it appended: compaction costs the database and the event loop a burst of work, best done while nobody types. */
    compactIdleMs: number;
    /** Awareness states not renewed for this long are removed (their editor or its instance is gone). */
    awarenessTimeoutMs: number;
    /** After this long without an edit the document sleeps: only its encoded state stays in memory. */
    sleepAfterMs: number;
    /** Storing an update failed, or the file was deleted: the document's sockets were closed and it must not be used again. */
    onBroken(doc: SharedDoc): void;
    onError(err: Error): void;
}

/** Origin of what came from another instance. */
const RELAY = Symbol('relay');
const CATCH_UP_RETRY_MS = 2_000;
const STORED_ROUNDS = 8;

/**
 * One loaded document on this instance: its Yjs state, the awareness of its
 * editors, and the sockets editing it. An edit from a socket (or a REST
 * write) is stored first, then sent to the other local sockets and, once,
 * to the other instances: nobody receives an update the database does not
 * hold. Updates from other instances are already stored; they go to the
 * local sockets at once. An instance that may have missed some asks the
 * others for what its state vector lacks.
 *
 * A document nobody edited for `sleepAfterMs`, with nothing left to store
 * or to write, puts its {@link DocState} to sleep; the next edit wakes it.
 * Awareness does not need the structures.
 */
export class SharedDoc {
    /** Its Yjs state, awake or asleep. */
    readonly state: DocState;
    readonly awareness: Awareness;
    readonly mirror: FileMirror;
    /** The local sockets, each with the awareness client IDs it owns. */
    private readonly members = new Map<DocMember, Set<number>>();
    /** Owner of each awareness client ID a local socket introduced. */
    private readonly owners = new Map<number, DocMember>();
    private pending: Promise<void> = Promise.resolve();
    private relayEditor: Editor | null = null;
    private appended = 0;
    private compacting = false;
    private retry: NodeJS.Timeout | undefined;
    private broken = false;
    private storing = 0;

    constructor(readonly key: DocKey, state: Uint8Array, private readonly deps: SharedDocDeps) {
        this.state = new DocState(state, this.onUpdate);
        // The server has no cursor of its own: its awareness needs a client ID, not the document.
        this.awareness = new Awareness(new Y.Doc());
        this.awareness.setLocalState(null);
        this.mirror = new FileMirror(() => this.state.text.toJSON(), deps.writeFile, deps.timing, deps.onError);
        this.awareness.on('update', this.onAwareness);
    }

    /** Sockets editing the document on this instance. */
    get size(): number {
        return this.members.size;
    }

    /** A socket starts editing: it receives every change from now on. */
    join(member: DocMember): void {
        this.members.set(member, new Set());
    }

    /** A socket left: its editors' cursors are removed everywhere, and their client IDs are free again. */
    leave(member: DocMember): void {
        const owned = this.members.get(member);
        if (!owned || !this.members.delete(member)) {
            return;
        }

        for (const client of owned) {
            this.owners.delete(client);
        }

        if (owned.size) {
            removeAwarenessStates(this.awareness, [...owned], member);
        }
    }

    /**
     * Applies a socket's awareness update, but only the entries about
     * client IDs the socket owns, or that nobody owns (here or, as far as
     * this instance knows, on another instance): setting one makes it the
     * socket's. Entries about other editors' IDs (a provider echoes every
     * state it learns, or a client tries to move someone else's cursor) are
     * neither applied nor relayed.
     */
    applyAwareness(member: DocMember, entries: AwarenessEntry[]): void {
        const owned = this.members.get(member);
        if (!owned) {
            return;
        }

        const allowed = entries.filter(({ client }) => {
            const owner = this.owners.get(client);
            return owner ? owner === member : !this.awareness.states.has(client);
        });
        for (const { client, removed } of allowed) {
            if (!removed) {
                owned.add(client);
                this.owners.set(client, member);
            }
        }

        if (allowed.length) {
            applyAwarenessUpdate(this.awareness, encodeAwareness(allowed), member);
        }
    }

    /** Resolves once the updates applied so far are stored. */
    async stored(): Promise<void> {
        // A few rounds at most: under a steady stream of edits the latest batch is always in flight.
        for (let round = 0; round < STORED_ROUNDS; round++) {
            const pending = this.pending;
            await pending;
            if (pending === this.pending) {
                return;
            }
        }
    }

    /** Applies an edit made on the server (a REST write): stored, then sent like a socket's. */
    edit(editor: Editor, change: (text: Y.Text) => void): void {
        const origin: ServerEdit = { editor };
        const { doc, text } = this.state;
        doc.transact(() => change(text), origin);
    }

    /** Handles a message from another instance's copy of the document, before it returns (`data` may be a view into a buffer the driver reuses). */
    receive(data: Buffer): void {
        let message: RelayMessage;
        try {
            message = decodeRelay(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        }
        catch (err) {
            this.deps.onError(err as Error);
            return;
        }

        if (message.from === this.deps.instanceId) {
            return;
        }

        if (message.type === 'update') {
            this.relayEditor = message.editor;
            try {
                Y.applyUpdate(this.state.doc, message.update, RELAY);
            }
            finally {
                this.relayEditor = null;
            }
        }
        else if (message.type === 'awareness') {
            // Another instance never changes the state of a client ID a socket here owns.
            const entries = decodeAwareness(message.update).filter(({ client }) => !this.owners.has(client));
            if (entries.length) {
                applyAwarenessUpdate(this.awareness, encodeAwareness(entries), RELAY);
            }
        }
        else if (message.type === 'query') {
            this.answer(message.stateVector.slice(), message.ask).catch(this.deps.onError);
        }
        else {
            this.deleted();
        }
    }

    /** Asks the other instances for what this copy lacks, and to ask back (after a load, a Redis blip or a lost publish). */
    catchUp(): void {
        clearTimeout(this.retry);
        this.retry = undefined;
        const query = encodeRelay({ type: 'query', from: this.deps.instanceId, stateVector: this.state.stateVector(), ask: true });
        this.deps.publish(query).catch(() => this.catchUpLater());
    }

    /** Removes the awareness states not renewed in time (their editor, or its instance, is gone), compacts and sleeps when due. */
    sweep(now: number): void {
        const idle = now - this.state.lastUsed;
        if (this.appended > 0 && idle >= this.deps.compactIdleMs && this.storing === 0) {
            this.compact();
        }

        if (!this.state.asleep && idle >= this.deps.sleepAfterMs && this.quiet()) {
            this.state.sleep();
        }

        const outdated: number[] = [];
        for (const [client, meta] of this.awareness.meta) {
            if (this.awareness.states.has(client) && now - meta.lastUpdated >= this.deps.awarenessTimeoutMs) {
                outdated.push(client);
            }
        }

        if (outdated.length) {
            removeAwarenessStates(this.awareness, outdated, 'timeout');
        }
    }

    /** Writes the file if an edit waits, stores what is pending, compacts, and frees the document. */
    async close(): Promise<void> {
        clearTimeout(this.retry);
        await this.mirror.flush();
        await this.stored();
        if (this.appended > 0 && !this.broken) {
            await this.deps.store.compact(this.key).catch(this.deps.onError);
        }

        this.destroy();
    }

    /** The file was deleted (with the stored state): closes the editors with 4410 and lets the document go, writing nothing. */
    deleted(): void {
        if (this.broken) {
            return;
        }

        this.broken = true;
        this.mirror.cancel();
        for (const member of [...this.members.keys()]) {
            member.peer.close(CloseCode.fileDeleted, 'file deleted');
        }

        this.deps.onBroken(this);
    }

    /**
     * Frees the document at once, without writing anything: an edit waiting
     * for the file is forgotten (after a refused update the text holds what
     * the database does not; the editors reconnect and the file follows their
     * next stored edit).
     */
    destroy(): void {
        clearTimeout(this.retry);
        this.mirror.cancel();
        this.awareness.destroy();
        this.state.destroy();
    }

    /** Sends a message to every local socket but `except`. */
    broadcast(message: Uint8Array, except: DocMember | null): void {
        for (const member of this.members.keys()) {
            if (member !== except) {
                member.peer.send(message);
            }
        }
    }

    // The sync message is built only when a socket receives it: the editor of a document alone on
    // this instance made the update, and a large one would be copied for nobody.
    private broadcastUpdate(update: Uint8Array, except: DocMember | null): void {
        if (this.members.size > (except ? 1 : 0)) {
            this.broadcast(syncMessage(DocSyncStep.update, update), except);
        }
    }

    private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
        if (origin === RELAY) {
            this.broadcastUpdate(update, null);
            this.mirror.touch(this.relayEditor);
            return;
        }

        const member = this.members.has(origin as DocMember) ? origin as DocMember : null;
        const editor = (origin as ServerEdit | DocMember | null)?.editor ?? null;
        // One buffer for the store, the other instances and the local sockets: the relay message,
        // whose tail is the update. Yjs's own copy of the update is not held while it is stored.
        const relay = encodeRelay({ type: 'update', from: this.deps.instanceId, editor, update });
        const row = relayedUpdate(relay, update);
        const stored = this.deps.store.append(this.key, row);
        this.storing++;
        this.pending = stored.catch(() => undefined).finally(() => this.storing--);
        this.relayOnceStored(stored, relay, row, editor, member).catch(this.deps.onError);
    };

    // Nobody receives an update before the database holds it; one it refused reaches nobody.
    private async relayOnceStored(stored: Promise<void>, relay: Uint8Array, update: Uint8Array, editor: Editor | null, origin: DocMember | null): Promise<void> {
        try {
            await stored;
        }
        catch (err) {
            this.fail(err as Error);
            return;
        }

        this.committed(relay, update, editor, origin);
    }

    private committed(relay: Uint8Array, update: Uint8Array, editor: Editor | null, origin: DocMember | null): void {
        this.broadcastUpdate(update, origin);
        this.deps.publish(relay).catch(() => this.catchUpLater());
        this.mirror.touch(editor);
        if (++this.appended >= this.deps.compactEvery) {
            this.compact();
        }
    }

    // Folds the appended updates into the snapshot, unless a compaction is running or the document is broken.
    private compact(): void {
        if (this.compacting || this.broken) {
            return;
        }

        this.compacting = true;
        this.appended = 0;
        this.deps.store.compact(this.key).catch(this.deps.onError).finally(() => {
            this.compacting = false;
        });
    }

    // The document holds an update the database refused: nobody may receive it. Its sockets
    // reconnect to a fresh copy and send their state again.
    private fail(err: Error): void {
        if (err instanceof DocDeleted) {
            this.deleted();
            return;
        }

        this.deps.onError(err);
        if (this.broken) {
            return;
        }

        this.broken = true;
        for (const member of [...this.members.keys()]) {
            member.peer.close(CloseCode.tryAgain, 'document storage failed: reconnect');
        }

        this.deps.onBroken(this);
    }

    private readonly onAwareness = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void => {
        const update = encodeAwarenessUpdate(this.awareness, [...added, ...updated, ...removed]);
        this.broadcast(awarenessMessage(update), null);
        if (origin !== RELAY) {
            this.deps.publish(encodeRelay({ type: 'awareness', from: this.deps.instanceId, update })).catch(() => undefined);
        }
    };

    private async answer(stateVector: Uint8Array, ask: boolean): Promise<void> {
        await this.stored();
        const from = this.deps.instanceId;
        await this.deps.publish(encodeRelay({ type: 'update', from, editor: null, update: this.state.missing(stateVector) }));
        const clients = [...this.awareness.states.keys()];
        if (clients.length) {
            await this.deps.publish(encodeRelay({ type: 'awareness', from, update: encodeAwarenessUpdate(this.awareness, clients) }));
        }

        if (ask) {
            await this.deps.publish(encodeRelay({ type: 'query', from, stateVector: this.state.stateVector(), ask: false }));
        }
    }

    // Nothing waits to be stored, written or compacted, and no update waits for a missing dependency.
    private quiet(): boolean {
        return !this.broken && this.storing === 0 && !this.compacting && this.mirror.idle && !this.state.waiting;
    }

    private catchUpLater(): void {
        if (!this.retry && !this.broken) {
            this.retry = setTimeout(() => this.catchUp(), CATCH_UP_RETRY_MS);
            this.retry.unref();
        }
    }
}
