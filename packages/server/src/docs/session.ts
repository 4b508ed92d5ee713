import { CloseCode, DOC_DENIED_TOO_LARGE, DOC_DENIED_VIEWER, DocSyncStep } from '@collab/protocol';
import { encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';

import { awarenessMessage, decodeClientMessage, deniedMessage, MalformedMessage, syncMessage, type Editor } from './messages.js';
import type { DocMember, DocPeer, SharedDoc } from './shared-doc.js';

/** Who a socket is and whether it may edit now (roles change while it is open). */
export interface DocAccess {
    editor: Editor;
    canWrite(): boolean;
}

/**
 * One socket's y-websocket conversation about one document, without the
 * socket: sync step 1/2 and updates, awareness, and the auth "permission
 * denied" answer to an update that may not be applied (a viewer's, or one
 * that would make the text too long). {@link receive} throws
 * {@link MalformedMessage} for bytes that are not valid y-websocket or Yjs,
 * before anything is applied.
 */
export class DocSession implements DocMember {
    private ended = false;

    constructor(readonly doc: SharedDoc, readonly peer: DocPeer, private readonly access: DocAccess) {}

    get editor(): Editor {
        return this.access.editor;
    }

    /** Joins the document and sends the opening sync step 1 and the current awareness. */
    start(): void {
        this.doc.join(this);
        this.peer.send(syncMessage(DocSyncStep.step1, this.doc.state.stateVector()));
        this.sendAwareness();
    }

    /** Handles one message; rejects with {@link MalformedMessage}. Give it bytes of their own (a copy). */
    async receive(data: Uint8Array): Promise<void> {
        if (this.ended) {
            return;
        }

        const message = decodeClientMessage(data);
        if (message.type === 'step1') {
            valid(() => Y.decodeStateVector(message.stateVector));
            await this.doc.stored();
            if (!this.ended) {
                this.peer.send(syncMessage(DocSyncStep.step2, this.doc.state.missing(message.stateVector)));
            }
        }
        else if (message.type === 'update') {
            this.update(message.update);
        }
        else if (message.type === 'awareness') {
            this.doc.applyAwareness(this, message.entries);
        }
        else if (message.type === 'queryAwareness') {
            this.sendAwareness();
        }
    }

    /** Leaves the document (idempotent). */
    end(): void {
        if (!this.ended) {
            this.ended = true;
            this.doc.leave(this);
        }
    }

    private update(update: Uint8Array): void {
        const decoded = valid(() => Y.decodeUpdate(update));
        if (decoded.structs.length === 0 && decoded.ds.clients.size === 0) {
            // A provider's answer to sync step 1 when it has nothing new: no change, and a sleeping document sleeps on.
            return;
        }

        if (this.doc.state.stale(decoded)) {
            // Its file was deleted, then created again: the old state must not come back into the new one.
            this.end();
            this.peer.close(CloseCode.fileDeleted, 'file deleted');
            return;
        }

        if (!this.access.canWrite()) {
            // A viewer's provider sends its state on every (re)connect: only a change is refused.
            if (this.doc.state.novel(decoded)) {
                this.peer.send(deniedMessage(DOC_DENIED_VIEWER));
            }

            return;
        }

        if (!this.doc.state.fits(update)) {
            this.peer.send(deniedMessage(DOC_DENIED_TOO_LARGE));
            return;
        }

        valid(() => Y.applyUpdate(this.doc.state.doc, update, this));
    }

    private sendAwareness(): void {
        const clients = [...this.doc.awareness.states.keys()];
        if (clients.length) {
            this.peer.send(awarenessMessage(encodeAwarenessUpdate(this.doc.awareness, clients)));
        }
    }
}

function valid<T>(work: () => T): T {
    try {
        return work();
    }
    catch (err) {
        throw new MalformedMessage(`malformed Yjs data: ${(err as Error).message}`);
    }
}
