import type { Transport } from '../http.js';
import { paginate, type ListPromise } from '../pagination.js';
import type { ListParams, Project, ProjectCreateParams, ProjectUpdateParams, RequestOptions } from '../types.js';

/** `client.projects`. */
export class ProjectsResource {
    readonly #transport: Transport;

    constructor(transport: Transport) {
        this.#transport = transport;
    }

    /** Creates a project; the caller becomes its owner. */
    async create(params: ProjectCreateParams, options?: RequestOptions): Promise<Project> {
        return (await this.#transport.request<Project>({ route: 'projects.create', body: params, options })).data;
    }

    /** The projects the caller owns or is a member of. */
    list(params: ListParams = {}, options?: RequestOptions): ListPromise<Project> {
        return paginate(this.#transport, { route: 'projects.list', query: { ...params }, options });
    }

    /** One project. */
    async get(id: number, options?: RequestOptions): Promise<Project> {
        return (await this.#transport.request<Project>({ route: 'projects.get', params: { id }, options })).data;
    }

    /** Changes some fields (PATCH). */
    async update(id: number, params: ProjectUpdateParams, options?: RequestOptions): Promise<Project> {
        return (await this.#transport.request<Project>({ route: 'projects.update', params: { id }, body: params, options })).data;
    }

    /** Replaces the editable fields (PUT). */
    async replace(id: number, params: ProjectCreateParams, options?: RequestOptions): Promise<Project> {
        return (await this.#transport.request<Project>({ route: 'projects.replace', params: { id }, body: params, options })).data;
    }

    /** Deletes a project with its workspaces, files and events (owners only). */
    async delete(id: number, options?: RequestOptions): Promise<void> {
        await this.#transport.request<void>({ route: 'projects.delete', params: { id }, options });
    }
}
