import { ConnectionError, RateLimitError, ServerError } from '../errors.js';
import type { RealtimeConnection } from '../realtime/connection.js';
import { JobWatch } from '../realtime/job-watch.js';
import type { Job, JobStatus, JobUpdate, JobWaitOptions, RequestOptions } from '../types.js';

const TERMINAL: readonly JobStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'error'];
/** Polling interval when live updates are not available. */
const FALLBACK_POLL_MS = 1_000;
/** Quick re-reads after a live update said the job ended. */
const HINT_POLL_MS = 250;

/** Whether a job status is final. */
export function isTerminalStatus(status: JobStatus): boolean {
    return TERMINAL.includes(status);
}

const transient = (err: unknown) => err instanceof ConnectionError || err instanceof ServerError || err instanceof RateLimitError;

/**
 * Resolves with the job once its status is terminal: live updates on `/jobs/{id}` (status and
 * output), one read right after subscribing (it may have ended already), then slow polling.
 */
export function waitForJob(get: (id: string, options?: RequestOptions) => Promise<Job>, connection: RealtimeConnection, jobId: string, options: JobWaitOptions = {}): Promise<Job> {
    const { onOutput, onStatus, signal, pollMs = 5_000 } = options;
    return new Promise<Job>((resolve, reject) => {
        let done = false;
        let live = false;
        let hinted = false;
        let checking = false;
        let again = false;
        let lastStatus: JobStatus | undefined;
        let timer: ReturnType<typeof setTimeout> | undefined;

        const stop = () => {
            done = true;
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            connection.remove(watch);
        };
        const fail = (err: unknown) => !done && (stop(), reject(err));
        const onAbort = () => fail(signal!.reason);
        const status = (next: JobStatus) => {
            if (next !== lastStatus) {
                lastStatus = next;
                onStatus?.(next);
            }
        };

        const check = async (): Promise<void> => {
            if (done || checking) {
                again = !done;
                return;
            }

            checking = true;
            clearTimeout(timer);
            try {
                const job = await get(jobId, { signal });
                if (!done && isTerminalStatus(job.status)) {
                    stop();
                    status(job.status);
                    resolve(job);
                    return;
                }

                status(job.status);
            }
            catch (err) {
                if (!transient(err)) {
                    fail(err);
                    return;
                }
            }
            finally {
                checking = false;
            }

            if (!done) {
                const wait = again ? 0 : hinted ? HINT_POLL_MS : live ? pollMs : Math.min(pollMs, FALLBACK_POLL_MS);
                again = false;
                timer = setTimeout(() => void check(), wait);
            }
        };

        const watch = new JobWatch(jobId, {
            onUpdate: (update: JobUpdate) => {
                if (done) {
                    return;
                }

                if (update.type === 'output') {
                    onOutput?.({ stream: update.stream, data: update.data });
                    return;
                }

                if (isTerminalStatus(update.status)) {
                    hinted = true;
                    void check();
                }
                else {
                    status(update.status);
                }
            },
            onResumed: () => void check()
        });

        if (signal?.aborted) {
            reject(signal.reason);
            return;
        }

        signal?.addEventListener('abort', onAbort, { once: true });
        connection.add(watch).then(() => {
            live = true;
        }, () => undefined).finally(() => void check());
    });
}
