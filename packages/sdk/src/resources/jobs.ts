import type { Transport } from '../http.js';
import { paginate, type ListPromise } from '../pagination.js';
import type { RealtimeConnection } from '../realtime/connection.js';
import type { IdempotentRequestOptions, Job, JobListParams, JobSubmitParams, JobAccepted, JobWaitOptions, Language, RequestOptions } from '../types.js';
import { JobWaiter } from './job-wait.js';

/** `client.jobs`: sandboxed code execution. */
export class JobsResource {
    readonly #transport: Transport;
    readonly #realtime: RealtimeConnection;

    constructor(transport: Transport, realtime: RealtimeConnection) {
        this.#transport = transport;
        this.#realtime = realtime;
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

    /**
     * Resolves with the job once it reaches a terminal status (`succeeded`, `failed`, `timed_out`,
     * `cancelled` or `error`). Follows the job live over the shared WebSocket (its current status
     * first, then status changes and output chunks to `onOutput`), resolves with the job its final
     * update carries (or reads it when that update carries none), and polls slowly as a safety net
     * (and every second when no WebSocket can be opened).
     *
     * ```ts
     * const { job_id } = await client.jobs.submit({ code: 'print(42)', language: 'python' });
     * const job = await client.jobs.wait(job_id, { onOutput: (chunk) => console.log(chunk.stream, chunk.data) });
     * ```
     */
    wait(jobId: string, options?: JobWaitOptions): Promise<Job> {
        return new JobWaiter((id, opts) => this.get(id, opts), this.#realtime, jobId, options).wait();
    }
}
