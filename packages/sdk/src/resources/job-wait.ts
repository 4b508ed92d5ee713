import { isTerminal } from '@collab/protocol';

import { ConnectionError, RateLimitError, ServerError } from '../errors.js';
import type { RealtimeConnection } from '../realtime/connection.js';
import { JobWatch } from '../realtime/job-watch.js';
import type { Job, JobStatus, JobUpdate, JobWaitOptions, RequestOptions } from '../types.js';

/** Polling interval when live updates are not available. */
const FALLBACK_POLL_MS = 1_000;
/** Quick re-reads after a live update said the job ended. */
const HINT_POLL_MS = 250;

const transient = (err: unknown) => err instanceof ConnectionError || err instanceof ServerError || err instanceof RateLimitError;

/** Reads a job (`client.jobs.get`). */
export type GetJob = (id: string, options?: RequestOptions) => Promise<Job>;

/**
 * Waits for one job to reach a terminal status: live updates on `/jobs/{id}` (status and output),
 * the first of which is its current status; one that says it ended resolves with the job it carries,
 * or, carrying none, is followed by a read; and slow polling; without
 * a live subscription, a read at once, then polling every second. {@link wait}
 * is called once.
 */
export class JobWaiter {
    readonly #get: GetJob;
    readonly #connection: RealtimeConnection;
    readonly #jobId: string;
    readonly #options: JobWaitOptions;
    readonly #pollMs: number;
    readonly #watch: JobWatch;
    #resolve: (job: Job) => void = () => undefined;
    #reject: (err: unknown) => void = () => undefined;
    #done = false;
    #live = false;
    #hinted = false;
    #checking = false;
    #again = false;
    #lastStatus?: JobStatus;
    #timer?: ReturnType<typeof setTimeout>;

    constructor(get: GetJob, connection: RealtimeConnection, jobId: string, options: JobWaitOptions = {}) {
        this.#get = get;
        this.#connection = connection;
        this.#jobId = jobId;
        this.#options = options;
        this.#pollMs = options.pollMs ?? 5_000;
        this.#watch = new JobWatch(jobId, { onUpdate: (update) => this.#onUpdate(update), onResumed: () => void this.#check() });
    }

    /** Resolves with the job once its status is terminal; rejects on abort or a non-transient error. */
    wait(): Promise<Job> {
        return new Promise<Job>((resolve, reject) => {
            this.#resolve = resolve;
            this.#reject = reject;
            const { signal } = this.#options;
            if (signal?.aborted) {
                reject(signal.reason);
                return;
            }

            signal?.addEventListener('abort', this.#onAbort, { once: true });
            // Live, the subscription's first message is the job's current status (with the job once it ended); else poll.
            this.#connection.add(this.#watch)
                .then(() => {
                    this.#live = true;
                    this.#schedule();
                })
                .catch(() => void this.#check());
        });
    }

    readonly #onAbort = (): void => this.#fail(this.#options.signal!.reason);

    #stop(): void {
        this.#done = true;
        clearTimeout(this.#timer);
        this.#options.signal?.removeEventListener('abort', this.#onAbort);
        this.#connection.remove(this.#watch);
    }

    #fail(err: unknown): void {
        if (!this.#done) {
            this.#stop();
            this.#reject(err);
        }
    }

    #status(next: JobStatus): void {
        if (next !== this.#lastStatus) {
            this.#lastStatus = next;
            this.#options.onStatus?.(next);
        }
    }

    #finish(job: Job): void {
        if (!this.#done) {
            this.#stop();
            this.#status(job.status);
            this.#resolve(job);
        }
    }

    #onUpdate(update: JobUpdate): void {
        if (this.#done) {
            return;
        }

        if (update.type === 'output') {
            this.#options.onOutput?.({ stream: update.stream, data: update.data });
            return;
        }

        if (update.job && update.job.job_id === this.#jobId && isTerminal(update.job.status)) {
            this.#finish(update.job);
        }
        else if (isTerminal(update.status)) {
            this.#hinted = true;
            void this.#check();
        }
        else {
            this.#status(update.status);
        }
    }

    async #check(): Promise<void> {
        if (this.#done || this.#checking) {
            this.#again = !this.#done;
            return;
        }

        this.#checking = true;
        clearTimeout(this.#timer);
        try {
            const job = await this.#get(this.#jobId, { signal: this.#options.signal });
            if (isTerminal(job.status)) {
                this.#finish(job);
                return;
            }

            this.#status(job.status);
        }
        catch (err) {
            if (!transient(err)) {
                this.#fail(err);
                return;
            }
        }
        finally {
            this.#checking = false;
        }

        this.#schedule();
    }

    /** Sets the next read: at once when asked meanwhile, soon after a hint that it ended, else the slow poll. */
    #schedule(): void {
        if (this.#done || this.#checking) {
            return;
        }

        clearTimeout(this.#timer);
        const wait = this.#again ? 0 : this.#hinted ? HINT_POLL_MS : this.#live ? this.#pollMs : Math.min(this.#pollMs, FALLBACK_POLL_MS);
        this.#again = false;
        this.#timer = setTimeout(() => void this.#check(), wait);
    }
}
