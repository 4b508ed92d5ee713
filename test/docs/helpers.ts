import * as decoding from 'lib0/decoding';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

import type { Knex } from 'knex';

import { DocStore, type DocKey } from '../../packages/server/src/docs/store.js';
import type { RealtimeServer } from '../realtime/helpers.js';

/** How many appended rows of a document wait to be compacted. */
export async function storedRows(db: Knex, key: DocKey): Promise<number> {
    const [row] = await db('doc_updates').count({ n: '*' }).where({ workspace_id: key.workspaceId, path: key.path }) as Array<{ n: string }>;
    return Number(row!.n);
}

/** A document's text as the database holds it: its snapshot and the rows appended since. */
export async function storedText(db: Knex, key: DocKey): Promise<string> {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, await new DocStore(db).load(key, () => Promise.resolve('')));
    return doc.getText('content').toJSON();
}

/** A metric's value in a server's `/metrics`. */
export async function metric(server: Pick<RealtimeServer, 'server'>, name: string): Promise<number> {
    const text = (await server.server.inject('/metrics')).payload;
    const line = text.split('\n').find((row) => row.startsWith(`${name} `));
    return Number(line?.split(' ')[1]);
}

/** A real y-websocket provider on a collab document, with what it saw. */
export interface Editor {
    doc: Y.Doc;
    text: Y.Text;
    provider: WebsocketProvider;
    /** Reasons of the auth "permission denied" messages received. */
    denied: string[];
    /** Close codes of the connections the server closed. */
    closes: number[];
    /** Resolves once the provider is synced (again after each reconnect). */
    synced(): Promise<void>;
    destroy(): void;
}

/** Opens `ws://127.0.0.1:PORT/yjs/{workspaceId}/{path}?token=…` with the y-websocket provider, on `ws`. */
export function openEditor(port: number, workspaceId: number | string, path: string, token: string, options: { connect?: boolean } = {}): Editor {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`ws://127.0.0.1:${port}/yjs`, `${workspaceId}/${path}`, doc, {
        params: { token },
        WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
        disableBc: true,
        connect: options.connect ?? true,
        maxBackoffTime: 500
    });
    const denied: string[] = [];
    const closes: number[] = [];
    provider.messageHandlers[2] = (_encoder, decoder) => {
        if (decoding.readVarUint(decoder) === 0) {
            denied.push(decoding.readVarString(decoder));
        }
    };
    provider.on('connection-close', (event) => {
        if (event) {
            closes.push(event.code);
        }
    });
    const synced = () => new Promise<void>((resolve) => {
        if (provider.synced) {
            resolve();
            return;
        }

        const done = (state: boolean) => {
            if (state) {
                provider.off('sync', done);
                resolve();
            }
        };
        provider.on('sync', done);
    });
    return { doc, text: doc.getText('content'), provider, denied, closes, synced, destroy: () => {
        provider.destroy();
        doc.destroy();
    } };
}

/** A raw socket to a document URL, for hostile tests: what it received and how it closed. */
export interface RawDocSocket {
    ws: WebSocket;
    messages: Uint8Array[];
    opened: Promise<void>;
    closed: Promise<{ code: number; reason: string }>;
}

/** Opens a raw `ws` socket to `/yjs/…` (the path as given, not encoded). */
export function rawDocSocket(port: number, pathAndQuery: string): RawDocSocket {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/yjs/${pathAndQuery}`);
    const messages: Uint8Array[] = [];
    ws.on('message', (data) => messages.push(new Uint8Array(data as Buffer)));
    ws.on('error', () => undefined);
    const opened = new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    opened.catch(() => undefined);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    return { ws, messages, opened, closed };
}
