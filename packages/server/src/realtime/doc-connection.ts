import type { RawData, WebSocket } from 'ws';
import { CloseCode, DocMessage, WRITER_ROLES } from '@collab/protocol';

import { MalformedMessage } from '../docs/messages.js';
import type { DocPeer } from '../docs/shared-doc.js';
import type { DocSession } from '../docs/session.js';
import { Connection, type ConnectionOptions, type Subscription } from './connection.js';
import { framedBinary } from './frames.js';

/**
 * A document socket (`/yjs/{workspace_id}/{path}`): binary y-websocket
 * messages, handled in order by its {@link DocSession}. Counted against the
 * socket's message rate limit: an awareness message over it is dropped; an
 * update is never dropped silently (the editor would drift), so the socket
 * is closed (1008) and the provider's reconnect sends its state again.
 * Bytes that are not valid y-websocket close it with 1007 before anything
 * is applied. Role changes apply to its next update; removal closes it
 * (4403) and token expiry (4401).
 */
export class DocConnection extends Connection implements DocPeer {
    /** The socket's workspace subscription (presence, role, revocation). */
    sub: Subscription | undefined;
    /** The document conversation, once attached. */
    session: DocSession | undefined;
    private queue: Promise<void> = Promise.resolve();

    constructor(ws: WebSocket, options: ConnectionOptions, private readonly exp: number, private readonly onError: (err: Error) => void) {
        super(ws, options);
        ws.on('message', (data) => this.receive(data));
    }

    /** True while the socket's role may edit. */
    canWrite(): boolean {
        return this.sub !== undefined && WRITER_ROLES.includes(this.sub.role);
    }

    /** Starts the y-websocket conversation. */
    attach(session: DocSession): void {
        this.session = session;
        session.start();
    }

    send(message: Uint8Array): void {
        this.writeFrame(framedBinary(message));
    }

    notify(): void {
        // y-websocket has no frame for server notices: a role change shows in the next update's answer.
    }

    revoke(_sub: Subscription, reason: string): void {
        this.close(CloseCode.forbidden, reason);
    }

    protected currentExpiry(): number {
        return this.exp;
    }

    private receive(data: RawData): void {
        const bytes = ownBytes(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
        const verdict = this.limiter.check();
        if (verdict !== 'ok') {
            if (verdict === 'close' || bytes[0] !== DocMessage.awareness) {
                this.close(CloseCode.policy, 'rate limit exceeded');
            }

            return;
        }

        const session = this.session;
        if (!session || !this.open) {
            return;
        }

        this.queue = this.queue.then(() => session.receive(bytes)).catch((err: unknown) => {
            if (err instanceof MalformedMessage) {
                this.close(CloseCode.invalidData, err.message.slice(0, 120));
                return;
            }

            this.onError(err as Error);
            this.close(CloseCode.internal, 'internal error');
        });
    }
}

// Bytes of the message's own: Yjs decoders must not read past the message into a shared buffer, and a
// small message must not hold a socket read's whole chunk. A large message ws assembled is its own already.
function ownBytes(data: Buffer): Uint8Array {
    return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? new Uint8Array(data.buffer) : new Uint8Array(data);
}
