import type { EventEnvelope } from '@collab/sdk';

import { h } from '../dom.js';

/** How many events the log keeps on screen. */
const KEPT = 200;

/** The workspace's live event stream, newest last. */
export class EventLog {
    readonly element: HTMLElement;
    readonly #list = h('ol', { class: 'events', 'aria-label': 'Events', tabindex: 0 });

    constructor() {
        this.element = h('section', { class: 'panel', 'aria-labelledby': 'events-title' }, h('h2', { id: 'events-title' }, 'Events'), this.#list);
    }

    add(event: EventEnvelope): void {
        const time = new Date(event.ts).toLocaleTimeString();
        this.#list.append(h('li', {},
            h('time', { datetime: event.ts }, time), ' ',
            h('strong', {}, event.event), ' ',
            h('span', { class: 'who' }, event.user), ' ',
            h('span', { class: 'payload' }, describePayload(event.payload))));
        while (this.#list.childElementCount > KEPT) {
            this.#list.firstElementChild!.remove();
        }

        this.#list.scrollTop = this.#list.scrollHeight;
    }

    /** Tells the reader that events may have been missed. */
    note(text: string): void {
        this.#list.append(h('li', { class: 'note' }, text));
    }
}

/** A payload in a few words: a file's name, a job's status, or short JSON. */
function describePayload(payload: unknown): string {
    if (payload && typeof payload === 'object') {
        const { file, job_id: jobId, status, connections } = payload as Record<string, unknown>;
        if (typeof file === 'string') {
            return file;
        }

        if (typeof jobId === 'string') {
            return `${jobId}${typeof status === 'string' ? ` ${status}` : ''}`;
        }

        if (typeof connections === 'number') {
            return `${connections} connection${connections === 1 ? '' : 's'}`;
        }
    }

    const text = JSON.stringify(payload) ?? '';
    return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
