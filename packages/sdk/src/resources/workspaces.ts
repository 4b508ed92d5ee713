import type { Transport } from '../http.js';
import { paginate, type ListPromise } from '../pagination.js';
import type { ListParams, PresenceEntry, RequestOptions, Workspace, WorkspaceCreateParams, WorkspaceUpdateParams } from '../types.js';

/** `client.workspaces`. */
export class WorkspacesResource {
    readonly #transport: Transport;

    constructor(transport: Transport) {
        this.#transport = transport;
    }

    /** The workspaces of a project. */
    list(projectId: number, params: ListParams = {}, options?: RequestOptions): ListPromise<Workspace> {
        return paginate(this.#transport, { route: 'workspaces.list', params: { id: projectId }, query: { ...params }, options });
    }

    /** Creates a workspace in a project (owners and collaborators). */
    async create(projectId: number, params: WorkspaceCreateParams, options?: RequestOptions): Promise<Workspace> {
        return (await this.#transport.request<Workspace>({ route: 'workspaces.create', params: { id: projectId }, body: params, options })).data;
    }

    /** One workspace. */
    async get(id: number, options?: RequestOptions): Promise<Workspace> {
        return (await this.#transport.request<Workspace>({ route: 'workspaces.get', params: { id }, options })).data;
    }

    /** Changes some fields (PATCH). */
    async update(id: number, params: WorkspaceUpdateParams, options?: RequestOptions): Promise<Workspace> {
        return (await this.#transport.request<Workspace>({ route: 'workspaces.update', params: { id }, body: params, options })).data;
    }

    /** Deletes a workspace (owners only). */
    async delete(id: number, options?: RequestOptions): Promise<void> {
        await this.#transport.request<void>({ route: 'workspaces.delete', params: { id }, options });
    }

    /** Who is connected to the workspace now, across all server instances. */
    async presence(id: number, options?: RequestOptions): Promise<PresenceEntry[]> {
        return (await this.#transport.request<PresenceEntry[]>({ route: 'workspaces.presence', params: { id }, options })).data;
    }
}
