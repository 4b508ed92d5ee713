import { isTerminal, type Job, type JobStatus } from '@collab/sdk';

import type { Context } from '../context.js';
import { h, replace } from '../dom.js';

/** A job's outcome in words: `Succeeded: exit code 0, 412 ms.` */
export function summary(job: Pick<Job, 'status' | 'exit_code' | 'duration_ms' | 'error'>): string {
    const status = job.status.replace('_', ' ');
    const parts = [
        job.exit_code === null ? undefined : `exit code ${job.exit_code}`,
        job.duration_ms === null ? undefined : duration(job.duration_ms)
    ].filter(Boolean);
    const text = `${status[0]!.toUpperCase()}${status.slice(1)}${parts.length ? `: ${parts.join(', ')}` : ''}.`;
    return job.error ? `${text} ${job.error}` : text;
}

function duration(ms: number): string {
    return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** The "Output" region: runs code as a job of the workspace and streams its output, then its outcome. */
export class Runner {
    readonly element: HTMLElement;
    readonly #ctx: Context;
    readonly #workspaceId: number;
    readonly #output = h('pre', { class: 'output', tabindex: 0, 'aria-label': 'Program output' });
    readonly #status = h('p', { class: 'job-status', role: 'status' }, 'Nothing has run yet.');
    readonly #cancel = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel');
    readonly #onFinished: (job: Job) => void;
    #running?: string;
    #abort?: AbortController;

    constructor(ctx: Context, workspaceId: number, onFinished: (job: Job) => void) {
        this.#ctx = ctx;
        this.#workspaceId = workspaceId;
        this.#onFinished = onFinished;
        this.#cancel.addEventListener('click', () => this.#cancelRunning());
        this.element = h('section', { class: 'panel runner', 'aria-label': 'Output' },
            h('div', { class: 'panel-head' }, h('h2', {}, 'Output'), this.#cancel), this.#status, this.#output);
    }

    /** Whether a job of this runner is still going. */
    get busy(): boolean {
        return this.#running !== undefined;
    }

    /** Submits `code` and follows it to its end. */
    async run(code: string, language: string, label: string): Promise<void> {
        this.#abort?.abort();
        const abort = this.#abort = new AbortController();
        replace(this.#output);
        this.#status.textContent = `Queued ${label} (${language}).`;
        try {
            const { job_id } = await this.#ctx.session.client.jobs.submit({ code, language, workspace_id: this.#workspaceId });
            this.#running = job_id;
            this.#cancel.hidden = false;
            const job = await this.#ctx.session.client.jobs.wait(job_id, {
                signal: abort.signal,
                onStatus: (status: JobStatus) => {
                    if (!isTerminal(status)) {
                        this.#status.textContent = status === 'running' ? `Running ${label}…` : `Queued ${label} (${language}).`;
                    }
                },
                onOutput: ({ stream, data }) => this.#write(stream, data)
            });
            this.show(job);
            this.#onFinished(job);
        }
        catch (err) {
            if (!abort.signal.aborted) {
                this.#status.textContent = this.#ctx.explain(err);
            }
        }
        finally {
            if (this.#abort === abort) {
                this.#running = undefined;
                this.#cancel.hidden = true;
            }
        }
    }

    /** Shows a finished job's whole output and outcome. */
    show(job: Job): void {
        replace(this.#output);
        this.#write('stdout', job.stdout);
        this.#write('stderr', job.stderr);
        if (job.truncated) {
            this.#write('stderr', '\n[output truncated at 64 KiB]');
        }

        this.#status.textContent = summary(job);
    }

    /** Stops following (the job itself runs on). */
    close(): void {
        this.#abort?.abort();
    }

    #write(stream: 'stdout' | 'stderr', data: string): void {
        if (data) {
            this.#output.append(stream === 'stderr' ? h('span', { class: 'stderr' }, data) : data);
            this.#output.scrollTop = this.#output.scrollHeight;
        }
    }

    #cancelRunning(): void {
        if (this.#running) {
            this.#ctx.session.client.jobs.cancel(this.#running).catch((err: unknown) => {
                this.#status.textContent = this.#ctx.explain(err);
            });
        }
    }
}
