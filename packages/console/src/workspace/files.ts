import type { FileEntry } from '@collab/sdk';

import { ErrorLine, formFor, revealer } from '../components.js';
import type { Context } from '../context.js';
import { field, h, replace } from '../dom.js';
import { Refusal } from '../errors.js';
import { workspaceHref } from '../router.js';

/** A workspace's files as links, kept current by the workspace's events; "New file" for writers. */
export class FileTree {
    readonly element: HTMLElement;
    readonly #ctx: Context;
    readonly #workspaceId: number;
    readonly #list = h('ul', { class: 'links files', 'aria-label': 'Files' });
    readonly #error = new ErrorLine();
    readonly #paths = new Set<string>();
    #open?: string;

    constructor(ctx: Context, workspaceId: number, canWrite: boolean) {
        this.#ctx = ctx;
        this.#workspaceId = workspaceId;
        const create = canWrite && revealer('New file', (close) => {
            const path = h('input', { type: 'text', required: true, maxlength: 255, placeholder: 'main.py', spellcheck: 'false', autocapitalize: 'off' });
            return formFor(ctx, {
                label: 'New file',
                fields: [field('Path', path)],
                submit: 'Create',
                onCancel: close,
                onSubmit: async () => {
                    const created = await this.create(path.value.trim(), '');
                    close();
                    ctx.go(workspaceHref(workspaceId, created));
                }
            });
        });
        this.element = h('section', { class: 'panel file-tree', 'aria-labelledby': 'files-title' },
            h('h2', { id: 'files-title' }, 'Files'), create, this.#error.element, this.#list);
    }

    /** Reads the list from the server. */
    async load(): Promise<void> {
        try {
            const files: FileEntry[] = await this.#ctx.session.client.files.list(this.#workspaceId).toArray();
            this.#paths.clear();
            files.forEach((file) => this.#paths.add(file.path));
            this.#render();
        }
        catch (err) {
            this.#error.show(this.#ctx.explain(err));
        }
    }

    /** Writes a new file (refusing to overwrite one that exists) and returns its path. */
    async create(path: string, content: string): Promise<string> {
        if (this.#paths.has(path)) {
            throw new Refusal(`${path} exists already: open it from the list.`);
        }

        const written = await this.#ctx.session.client.files.put(this.#workspaceId, path, { content });
        this.added(written.path);
        return written.path;
    }

    /** A file appeared (a `file_change` event). */
    added(path: string): void {
        if (!this.#paths.has(path)) {
            this.#paths.add(path);
            this.#render();
        }
    }

    /** A file went (a `file_delete` event). */
    removed(path: string): void {
        if (this.#paths.delete(path)) {
            this.#render();
        }
    }

    /** Marks the open file. */
    select(path: string | undefined): void {
        this.#open = path;
        this.#render();
    }

    #render(): void {
        const paths = [...this.#paths].sort();
        replace(this.#list, ...paths.map((path) => h('li', {},
            h('a', { href: workspaceHref(this.#workspaceId, path), 'aria-current': path === this.#open ? 'page' : undefined }, path))));
        if (!paths.length) {
            replace(this.#list, h('li', { class: 'empty' }, 'No files yet.'));
        }
    }
}
