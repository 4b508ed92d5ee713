export { CloseCode, DOC_TEXT_NAME, EVENT_NAME_PATTERN, isTerminal, JOB_EVENTS, JOB_STATUSES, MAX_PAYLOAD_BYTES, PRESENCE_EVENTS, ROLES } from '@collab/protocol';
export { CollabClient } from './client.js';
export type { CollabClientOptions } from './http.js';
export {
    AuthenticationError,
    CollabError,
    ConflictError,
    ConnectionError,
    NotFoundError,
    PermissionError,
    RateLimitError,
    ServerError,
    ValidationError,
    type CollabErrorInit,
    type ErrorBody
} from './errors.js';
export type { ListPromise, Page } from './pagination.js';
export { ROUTES, type HttpMethod, type Route, type RouteName } from './routes.js';
export type { AdminResource } from './resources/admin.js';
export type { AuthResource } from './resources/auth.js';
export type { DocsResource } from './resources/docs.js';
export type { EventsResource } from './resources/events.js';
export type { FilesResource } from './resources/files.js';
export type { JobsResource } from './resources/jobs.js';
export type { MembersResource } from './resources/members.js';
export type { ProjectsResource } from './resources/projects.js';
export type { RealtimeResource } from './resources/realtime.js';
export type { Disconnection } from './realtime/connection.js';
export type { DocumentStatus, OpenDocumentOptions, SharedDocument } from './realtime/shared-document.js';
export type { WebSocketConstructor } from './realtime/nes.js';
export type { EventHandler, RealtimeStatus, ResyncInfo, SubscribeOptions, Unsubscribe } from './realtime/types.js';
export { BACKOFF_BASE_MS, BACKOFF_CAP_MS, reconnectDelay } from './realtime/backoff.js';
export type { WorkspacesResource } from './resources/workspaces.js';
export type * from './types.js';
