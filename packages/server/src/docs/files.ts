import type { Server } from '@hapi/hapi';
import { WorkspaceFile } from '@collab/core';

import { broadcastFileChange } from '../events/broadcast.js';
import { deleteFile, writeFileIfChanged } from '../files/write.js';
import type { DocFiles } from './registry.js';
import type { DocStore } from './store.js';

/** The file rows behind documents: read to start a document, written (and broadcast as `file_change`) as it changes, deleted with it. */
export function docFiles(server: Server, store: DocStore): DocFiles {
    const { db } = server.app;
    return {
        read: async (key) => {
            const file = await WorkspaceFile.query(db).select('content').findOne({ workspace_id: key.workspaceId, path: key.path });
            return file?.content ?? '';
        },
        write: async (key, text, editor) => {
            // Only while the document has stored state: a write racing the file's deletion waits for it, then finds it gone.
            const written = await db.transaction(async (trx) => {
                return await store.live(trx, key) ? writeFileIfChanged(trx, { workspaceId: key.workspaceId, path: key.path, content: text, userId: editor.id }) : null;
            });
            if (written) {
                await broadcastFileChange(server, { workspaceId: key.workspaceId, user: editor, file: written.path, content: text, revision: written.revision });
            }
        },
        remove: async (key) => {
            try {
                // The document's rows first: the order a write following the document locks them in.
                await db.transaction(async (trx) => {
                    await store.remove(trx, key);
                    if (!await deleteFile(trx, key)) {
                        throw new NoSuchFile();
                    }
                });
                return true;
            }
            catch (err) {
                if (err instanceof NoSuchFile) {
                    return false;
                }

                throw err;
            }
        }
    };
}

// Rolls back a deletion that found no file: a document opened on a path not yet written keeps its state.
class NoSuchFile extends Error {}
