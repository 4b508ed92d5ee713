import type { Job } from '@collab/sdk';

import type { Context } from '../context.js';
import { h, replace } from '../dom.js';
import { summary } from './runner.js';

/** How many jobs the history shows. */
const SHOWN = 20;

/** The user's jobs in this workspace, newest first; choosing one shows its output. */
export class JobHistory {
    readonly element: HTMLElement;
    readonly #ctx: Context;
    readonly #workspaceId: number;
    readonly #list = h('ol', { class: 'jobs', 'aria-label': 'Job history' });
    readonly #onShow: (job: Job) => void;

    constructor(ctx: Context, workspaceId: number, onShow: (job: Job) => void) {
        this.#ctx = ctx;
        this.#workspaceId = workspaceId;
        this.#onShow = onShow;
        this.element = h('section', { class: 'panel', 'aria-labelledby': 'jobs-title' }, h('h2', { id: 'jobs-title' }, 'Job history'), this.#list);
    }

    async load(): Promise<void> {
        try {
            const jobs = await this.#ctx.session.client.jobs.list({ workspace_id: this.#workspaceId, limit: SHOWN }).toArray({ limit: SHOWN });
            replace(this.#list, ...jobs.map((job) => h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => this.#onShow(job) },
                `${new Date(job.created_at).toLocaleTimeString()} ${job.language}: ${summary(job)}`))));
            if (!jobs.length) {
                replace(this.#list, h('li', { class: 'empty' }, 'No jobs yet.'));
            }
        }
        catch (err) {
            replace(this.#list, h('li', { class: 'error' }, this.#ctx.explain(err)));
        }
    }
}
