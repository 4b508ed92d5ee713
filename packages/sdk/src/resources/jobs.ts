import type { Transport } from '../http.js';
import { paginate, type ListPromise } from '../pagination.js';
import type { IdempotentRequestOptions, Job, JobListParams, JobSubmitParams, JobAccepted, Language, RequestOptions } from '../types.js';

/** `client.jobs`: sandboxed code execution. */
export class JobsResource {
    readonly #transport: Transport;

    constructor(transport: Transport) {
        this.#transport = transport;
    }

    /**
     * Queues a job. Always sends an `Idempotency-Key` (generated unless given) and reuses it on
     * retries, so a retried submit never creates a second job.
     */
    async submit(params: JobSubmitParams, options?: IdempotentRequestOptions): Promise<JobAccepted> {
        return (await this.#transport.request<JobAccepted>({ route: 'jobs.submit', body: params, options })).data;
    }

    /** One job. */
    async get(jobId: string, options?: RequestOptions): Promise<Job> {
        return (await this.#transport.request<Job>({ route: 'jobs.get', params: { job_id: jobId }, options })).data;
    }

    /** The caller's jobs, newest first. */
    list(params: JobListParams = {}, options?: RequestOptions): ListPromise<Job> {
        return paginate(this.#transport, { route: 'jobs.list', query: { ...params }, options });
    }

    /** Cancels a job (submitter only): a queued one at once, a running one once killed; 409 once it ended. */
    async cancel(jobId: string, options?: RequestOptions): Promise<JobAccepted> {
        return (await this.#transport.request<JobAccepted>({ route: 'jobs.cancel', params: { job_id: jobId }, options })).data;
    }

    /** The languages live workers can run. */
    async languages(options?: RequestOptions): Promise<Language[]> {
        return (await this.#transport.request<Language[]>({ route: 'jobs.languages', options })).data;
    }
}
