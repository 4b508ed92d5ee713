import { CloseCode, DOC_PATH_PREFIX, DOC_TEXT_NAME, RECONNECT_CLOSE_CODES } from '@collab/protocol';
import { WebsocketProvider, messageAuth } from 'y-websocket';
import { readAuthMessage } from 'y-protocols/auth';
import { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';

import { AuthenticationError, ConnectionError, NotFoundError, type CollabError } from '../errors.js';
import type { Transport } from '../http.js';
import { platformWebSocket } from '#platform/websocket';
import { reconnectDelay } from './backoff.js';
import type { WebSocketConstructor } from './nes.js';
import { freshToken, realtimeError } from './open.js';

/** What happens to a shared document's connection, as `onStatus` reports it. */
export type DocumentStatus =
    /** The socket is open and the document in sync with the server (again, after a reconnect). */
    | { state: 'synced' }
    /** The socket dropped (`code` and `reason` when the server closed it); the provider reconnects by itself. */
    | { state: 'disconnected'; code?: number; reason?: string }
    /** The server refused a local update (viewers may not write, or the text would pass its limit): nobody else saw it. */
    | { state: 'denied'; reason: string }
    /** Ended for good: access removed (`PermissionError`), the session died (`AuthenticationError`) or the file was deleted (`NotFoundError`, code `file_deleted`). */
    | { state: 'ended'; error: CollabError };

/** Options of `docs.open()`. */
export interface OpenDocumentOptions {
    /** Connection changes; `ended` is final. */
    onStatus?: (status: DocumentStatus) => void;
}

const noop = () => undefined;

/**
 * Under Node, each y-websocket provider adds a listener to the process's `exit` event: one more
 * allowed per open document, so a process with more than ten open gets no MaxListenersExceededWarning.
 */
function makeRoomForExitListener(change: 1 | -1): void {
    const proc = (globalThis as { process?: Partial<Pick<NodeJS.Process, 'getMaxListeners' | 'setMaxListeners'>> }).process;
    const max = proc?.getMaxListeners?.();
    if (max) {                                              // 0: unlimited already
        proc!.setMaxListeners!(Math.max(1, max + change));
    }
}

interface CloseInfo {
    code: number;
    reason: string;
}

/**
 * A live shared document: one file of a workspace as a Yjs document, kept in sync with the
 * server (and every other editor) over the y-websocket protocol by a `WebsocketProvider`.
 * Bind `text` and `awareness` to an editor (`yCollab(text, awareness)` for CodeMirror), or edit
 * `text` directly. `synced` resolves once the server's state has arrived.
 *
 * The socket is authenticated with the client's access token, refreshed before connecting when
 * it expires soon. When the server closes it with 4401 (the token expired), the token is refreshed
 * and the provider reconnects; a second 4401 before any sync, or a dead session, ends the document
 * with an `AuthenticationError`. 4403 (access removed, or no such workspace) ends it with a
 * `PermissionError`, 4410 (the file was deleted) with a `NotFoundError`. Any other close
 * reconnects with the provider's backoff.
 */
export class SharedDocument {
    /** The Yjs document. */
    readonly doc: Y.Doc;
    /** The file's text (`Y.Text` named `content`). */
    readonly text: Y.Text;
    /** Cursors, selections and names of everyone editing the file. */
    readonly awareness: Awareness;
    /** Resolves on the first sync with the server; rejects with a `CollabError` when the document ends before. */
    readonly synced: Promise<void>;
    readonly #transport: Transport;
    readonly #url: string;
    readonly #room: string;
    readonly #onStatus?: (status: DocumentStatus) => void;
    #provider?: WebsocketProvider;
    #closed = false;
    #refusedSinceSync = false;
    #attempt = 0;
    #retryTimer?: ReturnType<typeof setTimeout>;
    #settle!: { resolve: () => void; reject: (error: CollabError) => void };

    constructor(transport: Transport, workspaceId: number, path: string, WebSocket: WebSocketConstructor | undefined, options: OpenDocumentOptions) {
        this.#transport = transport;
        this.#url = `${transport.baseUrl.replace(/^http/, 'ws')}${DOC_PATH_PREFIX}`;      // the provider drops the trailing slash
        this.#room = `${workspaceId}/${path.split('/').map(encodeURIComponent).join('/')}`;
        this.#onStatus = options.onStatus;
        this.doc = new Y.Doc();
        this.text = this.doc.getText(DOC_TEXT_NAME);
        this.awareness = new Awareness(this.doc);
        this.synced = new Promise<void>((resolve, reject) => (this.#settle = { resolve, reject }));
        this.synced.catch(noop);                            // reported through onStatus too: a caller need not await it
        this.#start(WebSocket).catch((err: unknown) => this.#end(realtimeError(err, transport)));
    }

    /** Whether the socket is open and the document in sync with the server now. */
    get connected(): boolean {
        return this.#provider?.synced === true;
    }

    /**
     * Leaves the document: tells the others this editor left, closes the socket and stops every
     * timer. `doc` and `text` stay readable (and no longer sync).
     */
    close(): void {
        if (this.#closed) {
            return;
        }

        this.#settle.reject(new ConnectionError({ message: 'The document was closed before it synced', status: 0, code: 'closed' }));
        this.#stop();
    }

    #stop(): void {
        this.#closed = true;
        clearTimeout(this.#retryTimer);
        if (this.#provider) {
            this.#provider.destroy();
            makeRoomForExitListener(-1);
        }

        this.awareness.destroy();
    }

    async #start(WebSocket: WebSocketConstructor | undefined): Promise<void> {
        const token = await freshToken(this.#transport, false);
        const Impl = WebSocket ?? await platformWebSocket();
        if (!Impl) {
            throw new TypeError('No WebSocket implementation: pass one as the WebSocket option of new CollabClient()');
        }

        if (this.#closed) {
            return;
        }

        makeRoomForExitListener(1);
        const provider = new WebsocketProvider(this.#url, this.#room, this.doc, {
            awareness: this.awareness,
            params: token ? { token } : {},
            WebSocketPolyfill: Impl as unknown as typeof globalThis.WebSocket,
            disableBc: true,
            shouldReconnect: (event) => !isFinal(event.code)
        });
        this.#provider = provider;
        provider.messageHandlers[messageAuth] = (_encoder, decoder) => {
            readAuthMessage(decoder, this.doc, (_doc, reason) => this.#onStatus?.({ state: 'denied', reason }));
        };
        provider.on('sync', (synced) => {
            if (synced) {
                this.#refusedSinceSync = false;
                this.#attempt = 0;
                this.#settle.resolve();
                this.#onStatus?.({ state: 'synced' });
            }
        });
        provider.on('connection-close', (event) => {
            if (event && !this.#closed && !isFinal(event.code)) {
                this.#onStatus?.({ state: 'disconnected', code: event.code, reason: event.reason });
            }
        });
        provider.on('closed', (info) => void this.#onFinalClose(info).catch(noop));
    }

    /** The server closed with a code after which the provider does not reconnect by itself. */
    async #onFinalClose(info: CloseInfo): Promise<void> {
        if (this.#closed) {
            return;
        }

        if (info.code !== CloseCode.unauthorized) {
            this.#end(closeError(info, this.#transport));
            return;
        }

        if (this.#refusedSinceSync || !this.#transport.tokens.refresh || info.reason === 'account deactivated') {
            this.#end(closeError(info, this.#transport));
            return;
        }

        this.#refusedSinceSync = true;
        this.#onStatus?.({ state: 'disconnected', code: info.code, reason: info.reason });
        await this.#reconnectWithNewToken();
    }

    /** Refreshes the token the socket used (unless the client holds a newer one already: other sockets expire at once too), then reconnects. */
    async #reconnectWithNewToken(): Promise<void> {
        try {
            await this.#transport.refreshAccess(this.#provider?.params.token);
            const token = this.#transport.tokens.access;
            if (!this.#closed && this.#provider) {
                this.#provider.params = token ? { token } : {};
                this.#provider.connect();
            }
        }
        catch (err) {
            const error = realtimeError(err, this.#transport);
            if (error instanceof AuthenticationError) {
                this.#end(error);
                return;
            }

            if (!this.#closed) {                            // the server is unreachable: try again later
                this.#retryTimer = setTimeout(() => void this.#reconnectWithNewToken().catch(noop), reconnectDelay(this.#attempt++));
            }
        }
    }

    #end(error: CollabError): void {
        if (this.#closed) {
            return;
        }

        this.#stop();
        this.#settle.reject(error);
        this.#onStatus?.({ state: 'ended', error });
    }
}

/** Close codes in 4400–4499 say that reconnecting as is cannot help (as y-websocket's default), but for the protocol's reconnect codes (slow consumer, too many sockets). */
function isFinal(code: number): boolean {
    return code >= 4400 && code < 4500 && !RECONNECT_CLOSE_CODES.includes(code);
}

function closeError(info: CloseInfo, transport: Transport): CollabError {
    if (info.code === CloseCode.unauthorized && info.reason === 'account deactivated') {
        return new AuthenticationError({ message: 'The account has been deactivated', status: 401, code: 'account_deactivated' });
    }

    if (info.code === CloseCode.fileDeleted) {
        return new NotFoundError({ message: 'The file was deleted', status: 404, code: 'file_deleted' });
    }

    const status = info.code === CloseCode.unauthorized ? 401 : info.code === CloseCode.forbidden ? 403 : info.code - 4000;
    const fallback = status === 401 ? 'The access token was refused' : status === 403 ? 'No access to this workspace, or no such workspace' : `Closed with code ${info.code}`;
    return realtimeError({ statusCode: status, message: info.reason || fallback }, transport);
}
