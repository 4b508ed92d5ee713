import { WebsocketProvider } from 'y-websocket';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';

import type { Session } from '../session.js';

/** Close codes of the documents endpoint (DESIGN §7) that reconnecting with the same token cannot fix. */
const TOKEN_REFUSED = 4401;

/** A file's shared document, live over the documents endpoint. */
export interface SharedDocument {
    doc: Y.Doc;
    /** The file's text (`Y.Text` named `content`). */
    text: Y.Text;
    awareness: Awareness;
    /** Resolves once the document holds the server's state. */
    synced: Promise<void>;
    close(): void;
}

/**
 * Opens `path` of a workspace as a Yjs document over `/yjs/{workspace}/{path}` (the y-websocket
 * protocol), with the session's access token; a socket closed for an expired token (4401) comes
 * back with a fresh one. `onEnded` hears a close that reconnecting cannot fix (no access).
 */
export function openDocument(session: Session, workspaceId: number, path: string, onEnded: (code: number) => void): SharedDocument {
    const doc = new Y.Doc();
    const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/yjs`;
    const room = `${workspaceId}/${path.split('/').map(encodeURIComponent).join('/')}`;
    const provider = new WebsocketProvider(base, room, doc, {
        params: { token: session.client.tokens.access ?? '' },
        disableBc: true                                 // a tab must not relay a viewer's edits to a writer's tab
    });
    provider.on('status', ({ status }) => {
        if (status === 'connecting') {
            provider.params.token = session.client.tokens.access ?? '';
        }
    });
    provider.on('closed', ({ code }) => {
        if (code !== TOKEN_REFUSED) {
            onEnded(code);
            return;
        }

        session.refreshNow().then(() => {
            provider.params.token = session.client.tokens.access ?? '';
            provider.connect();
        }, () => onEnded(code));
    });

    const synced = new Promise<void>((resolve) => {
        const done = (state: boolean): void => {
            if (state) {
                provider.off('sync', done);
                resolve();
            }
        };
        provider.on('sync', done);
    });

    return {
        doc,
        text: doc.getText('content'),
        awareness: provider.awareness,
        synced,
        close: () => {
            provider.destroy();
            doc.destroy();
        }
    };
}
