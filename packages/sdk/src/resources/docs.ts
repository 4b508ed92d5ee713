import type { Transport } from '../http.js';
import type { WebSocketConstructor } from '../realtime/nes.js';
import { SharedDocument, type OpenDocumentOptions } from '../realtime/shared-document.js';
import { hasDotSegment } from '../routes.js';

/** `client.docs`: the files of a workspace as live shared documents (Yjs over the y-websocket protocol). */
export class DocsResource {
    readonly #transport: Transport;
    readonly #WebSocket?: WebSocketConstructor;

    constructor(transport: Transport, WebSocket?: WebSocketConstructor) {
        this.#transport = transport;
        this.#WebSocket = WebSocket;
    }

    /**
     * Opens a file of a workspace for editing with everyone else who has it open: each change to
     * `text` reaches the others at once, and theirs arrive in it. Returns at once; await `synced`
     * before reading the file's text. Call `close()` when done.
     *
     * ```ts
     * const file = client.docs.open(31, 'src/main.py', { onStatus: (s) => console.log(s.state) });
     * await file.synced;
     * file.text.insert(0, '# edited together\n');
     * file.text.observe(() => console.log(file.text.toString()));
     * ```
     */
    open(workspaceId: number, path: string, options: OpenDocumentOptions = {}): SharedDocument {
        if (!Number.isSafeInteger(workspaceId) || workspaceId < 1) {
            throw new TypeError('workspaceId must be a positive integer');
        }

        if (typeof path !== 'string' || path === '') {
            throw new TypeError('path must be a non-empty string');
        }

        if (hasDotSegment(path)) {
            throw new TypeError('path must not hold . or .. segments (a URL would resolve them to another file)');
        }

        return new SharedDocument(this.#transport, workspaceId, path, this.#WebSocket, options);
    }
}
