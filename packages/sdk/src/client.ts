import { Transport, type CollabClientOptions } from './http.js';
import { RealtimeConnection } from './realtime/connection.js';
import { AdminResource } from './resources/admin.js';
import { AuthResource } from './resources/auth.js';
import { DocsResource } from './resources/docs.js';
import { EventsResource } from './resources/events.js';
import { FilesResource } from './resources/files.js';
import { JobsResource } from './resources/jobs.js';
import { MembersResource } from './resources/members.js';
import { ProjectsResource } from './resources/projects.js';
import { RealtimeResource } from './resources/realtime.js';
import { WorkspacesResource } from './resources/workspaces.js';
import type { TokenPair } from './types.js';

/**
 * A typed client of the collab API. Runs in Node 20+ and browsers (platform `fetch`).
 *
 * ```ts
 * const client = new CollabClient({ baseUrl: 'http://127.0.0.1:8000' });
 * await client.auth.login({ email, password });
 * for await (const project of client.projects.list()) console.log(project.name);
 * const stop = await client.realtime.subscribe(31, (event) => console.log(event.seq, event.event));
 * ```
 *
 * `realtime`, `docs` and live `jobs.wait` use the platform's WebSocket, or on Node 20 the `ws` package, loaded when first needed.
 */
export class CollabClient {
    /** Accounts and sessions. */
    readonly auth: AuthResource;
    /** Projects. */
    readonly projects: ProjectsResource;
    /** Project members and roles. */
    readonly members: MembersResource;
    /** Workspaces of projects. */
    readonly workspaces: WorkspacesResource;
    /** Workspace files. */
    readonly files: FilesResource;
    /** Workspace events over REST. */
    readonly events: EventsResource;
    /** Code-execution jobs. */
    readonly jobs: JobsResource;
    /** Live workspace events over one shared WebSocket. */
    readonly realtime: RealtimeResource;
    /** Files as live shared documents, edited by several people at once. */
    readonly docs: DocsResource;
    /** Administration (admins only). */
    readonly admin: AdminResource;
    readonly #transport: Transport;

    constructor(options: CollabClientOptions) {
        this.#transport = new Transport(options);
        this.auth = new AuthResource(this.#transport);
        this.projects = new ProjectsResource(this.#transport);
        this.members = new MembersResource(this.#transport);
        this.workspaces = new WorkspacesResource(this.#transport);
        this.files = new FilesResource(this.#transport);
        this.events = new EventsResource(this.#transport);
        const connection = new RealtimeConnection(this.#transport, options.WebSocket);
        this.jobs = new JobsResource(this.#transport, connection);
        this.realtime = new RealtimeResource(connection);
        this.docs = new DocsResource(this.#transport, options.WebSocket);
        this.admin = new AdminResource(this.#transport);
    }

    /** The server's base URL, normalized (no trailing slash). */
    get baseUrl(): string {
        return this.#transport.baseUrl;
    }

    /** The tokens the client holds now (after login and refreshes). */
    get tokens(): Partial<TokenPair> {
        return this.#transport.tokens;
    }
}
