import type { Transport } from '../http.js';
import { paginate, type ListPromise } from '../pagination.js';
import type { ListParams, Member, MemberAddParams, RequestOptions, Role } from '../types.js';

/** `client.members`: who is in a project, with which role. */
export class MembersResource {
    readonly #transport: Transport;

    constructor(transport: Transport) {
        this.#transport = transport;
    }

    /** The members of a project. */
    list(projectId: number, params: ListParams = {}, options?: RequestOptions): ListPromise<Member> {
        return paginate(this.#transport, { route: 'members.list', params: { id: projectId }, query: { ...params }, options });
    }

    /** Adds a user (by `email` or `user_id`) with a role (owners only). */
    async add(projectId: number, params: MemberAddParams, options?: RequestOptions): Promise<Member> {
        return (await this.#transport.request<Member>({ route: 'members.add', params: { id: projectId }, body: params, options })).data;
    }

    /** Changes a member's role (owners only; a project keeps at least one owner). */
    async setRole(projectId: number, userId: number, role: Role, options?: RequestOptions): Promise<Member> {
        return (await this.#transport.request<Member>({ route: 'members.setRole', params: { id: projectId, user_id: userId }, body: { role }, options })).data;
    }

    /** Removes a member (owners, or the member itself). */
    async remove(projectId: number, userId: number, options?: RequestOptions): Promise<void> {
        await this.#transport.request<void>({ route: 'members.remove', params: { id: projectId, user_id: userId }, options });
    }
}
