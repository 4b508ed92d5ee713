import type { PresenceEntry } from '@collab/sdk';

import type { Context } from '../context.js';
import { h, replace } from '../dom.js';

/** "Here now": who has the workspace open, across every server instance. */
export class HereNow {
    readonly element: HTMLElement;
    readonly #ctx: Context;
    readonly #workspaceId: number;
    readonly #list = h('ul', { class: 'presence', 'aria-label': 'Here now' });
    #loading?: Promise<void>;
    #again = false;

    constructor(ctx: Context, workspaceId: number) {
        this.#ctx = ctx;
        this.#workspaceId = workspaceId;
        this.element = h('section', { class: 'panel', 'aria-labelledby': 'here-title' }, h('h2', { id: 'here-title' }, 'Here now'), this.#list);
    }

    /** Reads who is here (again after a join or leave; overlapping calls collapse into one more read). */
    refresh(): void {
        if (this.#loading) {
            this.#again = true;
            return;
        }

        this.#loading = this.#ctx.session.client.workspaces.presence(this.#workspaceId).then((entries) => this.#render(entries)).catch(() => undefined).finally(() => {
            this.#loading = undefined;
            if (this.#again) {
                this.#again = false;
                this.refresh();
            }
        });
    }

    #render(entries: PresenceEntry[]): void {
        replace(this.#list, ...entries.map((entry) => h('li', {}, entry.user_id === this.#ctx.user.id ? `${entry.user} (you)` : entry.user)));
        if (!entries.length) {
            replace(this.#list, h('li', { class: 'empty' }, 'Nobody else is here.'));
        }
    }
}
