/** Path prefix of the collaborative document endpoint: `/yjs/{workspace_id}/{path}` (DESIGN §7). */
export const DOC_PATH_PREFIX = '/yjs/';

/** Name of the `Y.Text` that holds a document's file text. */
export const DOC_TEXT_NAME = 'content';

/** Top-level message types of the y-websocket protocol. */
export const DocMessage = {
    sync: 0,
    awareness: 1,
    auth: 2,
    queryAwareness: 3
} as const;

/** Sub-types of a y-websocket sync message (y-protocols/sync). */
export const DocSyncStep = {
    step1: 0,
    step2: 1,
    update: 2
} as const;

/** The reason sent with the auth "permission denied" message for a viewer's update. */
export const DOC_DENIED_VIEWER = 'permission denied: viewers cannot edit';

/** The reason sent with the auth "permission denied" message for an update that would make the text (or the whole state) too large. */
export const DOC_DENIED_TOO_LARGE = 'permission denied: the document would be too large (at most 1 MiB of text)';
