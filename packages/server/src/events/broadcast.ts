import type { Server } from '@hapi/hapi';
import { BusValidationError } from '@collab/core';

import type { AuthUser } from '../context.js';

/** A file written through PUT. */
export interface FileChange {
    workspaceId: number;
    user: AuthUser;
    file: string;
    content: string;
    revision: number;
}

/**
 * Broadcasts `file_change` `{file, content, revision}` after a write that did
 * not come from an event (PUT), so every client sees one stream. Content
 * too large for an event payload (64 KiB) is left out:
 * `{file, revision, content_omitted: true}`, to be read over REST. The write
 * already happened: a bus failure is logged, not thrown.
 */
export async function broadcastFileChange(server: Server, change: FileChange): Promise<void> {
    const { workspaceId, user, file, content, revision } = change;
    await publish(server, workspaceId, user, 'file_change', { file, content, revision }, { file, revision, content_omitted: true });
}

/** Broadcasts `file_delete` `{file}` after a DELETE; a bus failure is logged, not thrown. */
export async function broadcastFileDelete(server: Server, change: { workspaceId: number; user: AuthUser; file: string }): Promise<void> {
    await publish(server, change.workspaceId, change.user, 'file_delete', { file: change.file });
}

async function publish(server: Server, workspaceId: number, user: AuthUser, event: string, payload: unknown, smaller?: unknown): Promise<void> {
    try {
        await server.app.bus.publish(workspaceId, { event, payload, user: user.email, user_id: user.id });
    }
    catch (err) {
        if (err instanceof BusValidationError && err.code === 413 && smaller !== undefined) {
            return publish(server, workspaceId, user, event, smaller);
        }

        server.app.logger.warn({ err: (err as Error).message, workspaceId, event }, 'file event not broadcast');
    }
}
