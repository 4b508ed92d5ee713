import { JOB_EVENTS, type Job as JobResource, type JobStatus, type JobUpdate } from '@collab/protocol';
import { jobKeys, type EventBus, type Logger, type PubSub } from '@collab/core';

import type { OutputStream } from './sandbox/index.js';
import { storableOutput, type JobOwner } from './store.js';

/** Output is batched for this long, or until this many characters wait, before it is published. */
const BATCH_MS = 20;
const BATCH_CHARS = 16 * 1024;

/** An output update; live output matches what the row will hold. */
function outputMessage(jobId: string, stream: OutputStream, data: string): string {
    return JSON.stringify({ type: 'output', job_id: jobId, stream, data: storableOutput(data) } satisfies JobUpdate);
}

/** Publishes a job's live updates: its update channel, and the workspace bus when it has a workspace. */
export class JobPublisher {
    readonly #updates: PubSub;
    readonly #bus: EventBus | undefined;
    readonly #keys: ReturnType<typeof jobKeys>;
    readonly #logger: Logger;

    /** `updates` publishes job update channels (shard scope). */
    constructor(options: { updates: PubSub; bus?: EventBus; prefix: string; logger: Logger }) {
        this.#updates = options.updates;
        this.#bus = options.bus;
        this.#keys = jobKeys(options.prefix);
        this.#logger = options.logger;
    }

    /**
     * Announces a status change, after the output still waiting in `tail` (one Redis write for both).
     * Never throws: live updates are best effort, the row is the truth.
     */
    async status(job: JobOwner, status: JobStatus, exitCode: number | null = null, error: string | null = null, tail?: OutputBatcher): Promise<void> {
        await this.#announce(job, { type: 'status', job_id: job.id, status, attempts: job.attempts, exit_code: exitCode, error }, tail);
    }

    /** Announces the end of a run with the job as its row now holds it (`job` of the update: a waiter needs no read). Never throws. */
    async finished(owner: JobOwner, job: JobResource, tail?: OutputBatcher): Promise<void> {
        await this.#announce(owner, { type: 'status', job_id: job.job_id, status: job.status, attempts: job.attempts, exit_code: job.exit_code, error: job.error, job }, tail);
    }

    async #announce(job: JobOwner, update: Extract<JobUpdate, { type: 'status' }>, tail: OutputBatcher | undefined): Promise<void> {
        const { status, exit_code: exitCode } = update;
        const messages = (tail?.take() ?? []).map(({ stream, data }) => outputMessage(job.id, stream, data));
        messages.push(JSON.stringify(update));
        const sends: Promise<unknown>[] = [this.#updates.publishAll(this.#keys.updates(job.id), messages)];
        const event = status === 'running' ? JOB_EVENTS.started : status === 'queued' ? undefined : JOB_EVENTS.finished;
        if (this.#bus && job.workspace_id !== null && event) {
            const payload = event === JOB_EVENTS.finished ? { job_id: job.id, status, exit_code: exitCode } : { job_id: job.id, status };
            sends.push(this.#bus.publish(job.workspace_id, { event, payload, user: job.user_email, user_id: job.user_id }));
        }

        const results = await Promise.allSettled(sends);
        for (const result of results) {
            if (result.status === 'rejected') {
                this.#logger.warn({ err: String(result.reason), job_id: job.id }, 'cannot publish a job update');
            }
        }
    }

    /** A batcher for one run's output; each flush goes to Redis in one write. */
    output(jobId: string): OutputBatcher {
        const channel = this.#keys.updates(jobId);
        return new OutputBatcher((chunks) => {
            const messages = chunks.map(({ stream, data }) => outputMessage(jobId, stream, data));
            this.#updates.publishAll(channel, messages).catch(() => undefined);
        });
    }
}

/** Collects output chunks and publishes them in order, a few at a time. */
export class OutputBatcher {
    readonly #send: (chunks: Array<{ stream: OutputStream; data: string }>) => void;
    #pending: Array<{ stream: OutputStream; data: string }> = [];
    #chars = 0;
    #timer: NodeJS.Timeout | undefined;

    constructor(send: (chunks: Array<{ stream: OutputStream; data: string }>) => void) {
        this.#send = send;
    }

    /** Adds a chunk; consecutive chunks of one stream are merged. */
    push(stream: OutputStream, data: string): void {
        const last = this.#pending.at(-1);
        if (last?.stream === stream) {
            last.data += data;
        }
        else {
            this.#pending.push({ stream, data });
        }
        this.#chars += data.length;
        if (this.#chars >= BATCH_CHARS) {
            this.flush();
        }
        else {
            this.#timer ??= setTimeout(() => this.flush(), BATCH_MS);
        }
    }

    /** Publishes whatever waits. */
    flush(): void {
        const pending = this.take();
        if (pending.length > 0) {
            this.#send(pending);
        }
    }

    /** Whatever waits, for the caller to publish. */
    take(): Array<{ stream: OutputStream; data: string }> {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        const pending = this.#pending;
        this.#pending = [];
        this.#chars = 0;
        return pending;
    }
}
