// The editors of the documents bench (bench/docs.ts), in a child process so their work does not count
// as the servers'. Driven over IPC: `edit` opens editors that each insert markers at `rate` per second
// for `seconds` and tally when the others' markers arrive; `load` opens documents and fills each with
// `bytes` of text; `state`, `report` and `close` answer what the parent asks.
import { createHash } from 'node:crypto';

import { CollabClient } from '@collab/sdk';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';

import { countMarkers, insertAtRandom, LatencyTally, marker } from './docs-markers.js';

/** The two systems the bench compares. */
export type System = 'collab' | 'hocuspocus';

/** One document an editor opens. */
export interface DocSpec {
    port: number;
    workspaceId: number;
    path: string;
    /** collab's access token. */
    token?: string;
}

/** One editor of the edit phase. */
export interface EditorSpec extends DocSpec {
    id: number;
    /** Which server instance it talks to (0 or 1). */
    instance: number;
}

/** What the parent sends. */
export type ClientCommand =
    | { type: 'edit'; system: System; editors: EditorSpec[]; rate: number; seconds: number }
    | { type: 'go' }
    | { type: 'load'; system: System; docs: DocSpec[]; bytes: number }
    | { type: 'state' }
    | { type: 'report' }
    | { type: 'close' };

/** An editor's view at the end: its markers and a hash of its text. */
export interface EditorState {
    id: number;
    markers: number;
    distinct: number;
    hash: string;
}

interface OpenDoc {
    text: Y.Text;
    synced: Promise<void>;
    close(): void;
}

const OPEN_CONCURRENCY = 50;

function open(system: System, spec: DocSpec): OpenDoc {
    if (system === 'collab') {
        const client = new CollabClient({ baseUrl: `http://127.0.0.1:${spec.port}`, token: spec.token });
        const shared = client.docs.open(spec.workspaceId, spec.path);
        return { text: shared.text, synced: shared.synced, close: () => shared.close() };
    }

    const document = new Y.Doc();
    const socket = new HocuspocusProviderWebsocket({ url: `ws://127.0.0.1:${spec.port}`, WebSocketPolyfill: WebSocket });
    const provider = new HocuspocusProvider({ name: `${spec.workspaceId}/${spec.path}`, document, websocketProvider: socket });
    const synced = new Promise<void>((resolve) => provider.on('synced', () => resolve()));
    provider.attach();
    return {
        text: document.getText('content'),
        synced,
        close: () => {
            provider.destroy();
            socket.destroy();
        }
    };
}

async function openAll<T extends DocSpec>(system: System, specs: T[]): Promise<Array<OpenDoc & { spec: T }>> {
    const opened: Array<OpenDoc & { spec: T }> = [];
    for (let i = 0; i < specs.length; i += OPEN_CONCURRENCY) {
        const batch = specs.slice(i, i + OPEN_CONCURRENCY).map((spec) => ({ ...open(system, spec), spec }));
        await Promise.all(batch.map((doc) => doc.synced));
        opened.push(...batch);
    }

    return opened;
}

function filler(bytes: number): string {
    const line = 'The quick brown fox jumps over the lazy dog, again and again, line after line.\n';
    return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

const send = (message: unknown) => process.send!(message);
process.setMaxListeners(0);                             // each y-websocket provider adds an exit listener on Node
let docs: OpenDoc[] = [];
let editors: Array<OpenDoc & { spec: EditorSpec; tally: LatencyTally; sent: number }> = [];
let run: { rate: number; seconds: number } | undefined;

/** Each editor inserts `rate × seconds` markers on a fixed schedule (one that falls behind catches up), so every system gets the same load. */
function edit(): void {
    const { rate, seconds } = run!;
    const period = 1000 / rate;
    const started = Date.now();
    let running = editors.length;
    for (const editor of editors) {
        const offset = Math.random() * period;
        const tick = () => {
            insertAtRandom(editor.text, marker(editor.spec.id, ++editor.sent, editor.spec.instance));
            if (editor.sent >= rate * seconds) {
                if (--running === 0) {
                    send({ type: 'edited' });
                }

                return;
            }

            setTimeout(tick, Math.max(0, started + offset + editor.sent * period - Date.now()));
        };
        setTimeout(tick, offset);
    }
}

process.on('message', (command: ClientCommand) => {
    void (async () => {
        switch (command.type) {
            case 'edit': {
                run = command;
                const opened = await openAll(command.system, command.editors);
                editors = opened.map((doc) => {
                    const tally = new LatencyTally(doc.spec.instance);
                    doc.text.observe((event, transaction) => {
                        if (!transaction.local) {
                            for (const op of event.delta) {
                                if (typeof op.insert === 'string') {
                                    tally.record(op.insert);
                                }
                            }
                        }
                    });
                    return { ...doc, tally, sent: 0 };
                });
                docs = editors;
                send({ type: 'ready' });
                break;
            }
            case 'go':
                edit();
                break;
            case 'load': {
                docs = await openAll(command.system, command.docs);
                const text = filler(command.bytes);
                for (const doc of docs) {
                    if (doc.text.length === 0) {
                        doc.text.insert(0, text);
                    }
                }

                send({ type: 'loaded' });
                break;
            }
            case 'state':
                send({
                    type: 'state',
                    editors: editors.map((e): EditorState => ({ id: e.spec.id, ...countMarkers(e.text.toJSON()), hash: createHash('sha1').update(e.text.toJSON()).digest('hex') }))
                });
                break;
            case 'report':
                send({ type: 'report', sent: editors.reduce((sum, e) => sum + e.sent, 0), same: editors.flatMap((e) => e.tally.same), cross: editors.flatMap((e) => e.tally.cross) });
                break;
            case 'close':
                for (const doc of docs) {
                    doc.close();
                }

                docs = editors = [];
                send({ type: 'closed' });
                break;
        }
    })().catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.stack : String(err) }));
});
