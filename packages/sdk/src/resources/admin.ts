import type { Transport } from '../http.js';
import { paginate, type ListPromise } from '../pagination.js';
import type { AdminUser, AdminUserChanges, AdminUserListParams, JobAccepted, RequestOptions, SystemStats } from '../types.js';

/** `client.admin`: operating the system (administrators only; `PermissionError` for everyone else). */
export class AdminResource {
    readonly #transport: Transport;

    constructor(transport: Transport) {
        this.#transport = transport;
    }

    /** Users by id, optionally those whose email or name contains `q` (case-insensitive). */
    users(params: AdminUserListParams = {}, options?: RequestOptions): ListPromise<AdminUser> {
        return paginate(this.#transport, { route: 'admin.users', query: { ...params }, options });
    }

    /**
     * Activates, deactivates, promotes or demotes a user. Deactivation refuses their tokens at once,
     * revokes their refresh tokens, closes their sockets and cancels their queued jobs. The last
     * active admin cannot be demoted or deactivated (`ConflictError`).
     */
    async updateUser(id: number, changes: AdminUserChanges, options?: RequestOptions): Promise<AdminUser> {
        return (await this.#transport.request<AdminUser>({ route: 'admin.updateUser', params: { id }, body: changes, options })).data;
    }

    /** Counts, live sockets per server instance, jobs by status and live workers. */
    async stats(options?: RequestOptions): Promise<SystemStats> {
        return (await this.#transport.request<SystemStats>({ route: 'admin.stats', options })).data;
    }

    /** Re-queues a job that ended in `error` (`ConflictError` for any other status). */
    async retryJob(jobId: string, options?: RequestOptions): Promise<JobAccepted> {
        return (await this.#transport.request<JobAccepted>({ route: 'admin.retryJob', params: { job_id: jobId }, options })).data;
    }
}
