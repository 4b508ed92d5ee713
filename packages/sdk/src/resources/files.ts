import type { Transport } from '../http.js';
import { paginate, type ListPromise } from '../pagination.js';
import type { FileEntry, FilePutParams, FileWriteResult, ListParams, RequestOptions, WorkspaceFile } from '../types.js';

/** `client.files`: the files of a workspace, by `/`-separated relative path. */
export class FilesResource {
    readonly #transport: Transport;

    constructor(transport: Transport) {
        this.#transport = transport;
    }

    /** The files of a workspace, without their content. */
    list(workspaceId: number, params: ListParams = {}, options?: RequestOptions): ListPromise<FileEntry> {
        return paginate(this.#transport, { route: 'files.list', params: { id: workspaceId }, query: { ...params }, options });
    }

    /** One file with its content. */
    async get(workspaceId: number, path: string, options?: RequestOptions): Promise<WorkspaceFile> {
        return (await this.#transport.request<WorkspaceFile>({ route: 'files.get', params: { id: workspaceId, path }, options })).data;
    }

    /** Writes a file; with `base_revision`, only if that is still its revision (409 `ConflictError` otherwise). */
    async put(workspaceId: number, path: string, params: FilePutParams, options?: RequestOptions): Promise<FileWriteResult> {
        return (await this.#transport.request<FileWriteResult>({ route: 'files.put', params: { id: workspaceId, path }, body: params, options })).data;
    }

    /** Deletes a file. */
    async delete(workspaceId: number, path: string, options?: RequestOptions): Promise<void> {
        await this.#transport.request<void>({ route: 'files.delete', params: { id: workspaceId, path }, options });
    }
}
