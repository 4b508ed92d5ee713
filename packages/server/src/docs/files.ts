import type { Server } from '@hapi/hapi';
import { WorkspaceFile } from '@collab/core';

import { broadcastFileChange } from '../events/broadcast.js';
import { writeFileIfChanged } from '../files/write.js';
import type { DocFiles } from './registry.js';

/** The file rows behind documents: read to start a document, written (and broadcast as `file_change`) as it changes. */
export function docFiles(server: Server): DocFiles {
    const { db } = server.app;
    return {
        read: async (key) => {
            const file = await WorkspaceFile.query(db).select('content').findOne({ workspace_id: key.workspaceId, path: key.path });
            return file?.content ?? '';
        },
        write: async (key, text, editor) => {
            const written = await writeFileIfChanged(db, { workspaceId: key.workspaceId, path: key.path, content: text, userId: editor.id });
            if (written) {
                await broadcastFileChange(server, { workspaceId: key.workspaceId, user: editor, file: written.path, content: text, revision: written.revision });
            }
        }
    };
}
