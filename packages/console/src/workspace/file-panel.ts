import { PermissionError, type DocumentStatus } from '@collab/sdk';

import { deleteButton, formFor, revealer } from '../components.js';
import type { Context } from '../context.js';
import { field, h } from '../dom.js';
import { workspaceHref } from '../router.js';
import type { LiveEditor } from './editor.js';
import type { FileTree } from './files.js';
import type { Runner } from './runner.js';

const LANGUAGE_BY_EXTENSION: Record<string, string> = { py: 'python', js: 'javascript', mjs: 'javascript', cjs: 'javascript', sh: 'bash' };

/** The language a job of `path` runs in, from its extension. */
export function languageFor(path: string): string | undefined {
    return LANGUAGE_BY_EXTENSION[/\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase() ?? ''];
}

/** A document's connection state as a sentence; empty while all is well. */
function describeStatus(ctx: Context, status: DocumentStatus): string {
    switch (status.state) {
        case 'synced':
            return '';
        case 'disconnected':
            return 'Connection lost: reconnecting… (edits made meanwhile are kept and sent once back).';
        case 'denied':
            return 'The server refused your last change, so nobody else saw it.';
        case 'ended':
            return status.error instanceof PermissionError ? 'You no longer have access to this file.' : ctx.explain(status.error);
    }
}

/** What the open file's panel needs from its workspace. */
export interface FilePanelOptions {
    workspaceId: number;
    path: string;
    canWrite: boolean;
    /** The languages the workers run now. */
    languages: Promise<string[]>;
    files: FileTree;
    runner: Runner;
}

/** The open file: its toolbar (language, Run, Save as, Delete) and its collaborative editor. */
export class FilePanel {
    readonly element: HTMLElement;
    readonly #status = h('p', { class: 'doc-status', role: 'status' }, 'Connecting…');
    #editor?: LiveEditor;
    #closed = false;

    constructor(ctx: Context, options: FilePanelOptions) {
        const { workspaceId, path, canWrite, runner } = options;
        const language = h('select', {});
        const run = (): void => {
            if (canWrite && !runner.busy && this.#editor) {
                void runner.run(this.#editor.text(), language.value, path);
            }
        };
        void options.languages.then((known) => {
            const preferred = languageFor(path);
            const all = [...new Set([...(preferred ? [preferred] : []), ...known])];
            language.replaceChildren(...all.map((name) => h('option', { value: name }, name)));
            language.value = preferred ?? all[0] ?? '';
        });

        const editor = h('div', { class: 'editor' });
        import('./editor.js').then(({ openEditor }) => {
            if (this.#closed) {
                return;
            }

            this.#editor = openEditor(editor, ctx.session, {
                workspaceId,
                path,
                readOnly: !canWrite,
                onRun: run,
                onStatus: (status) => {
                    this.#status.textContent = describeStatus(ctx, status);
                }
            });
        }).catch(() => {
            this.#status.textContent = 'The editor could not be loaded: reload the page to try again.';
        });
        const tools = canWrite && [
            field('Language', language),
            h('button', { type: 'button', class: 'primary', onclick: run, title: 'Run (Ctrl+Enter)' }, 'Run'),
            revealer('Save as', (close) => {
                const target = h('input', { type: 'text', required: true, maxlength: 255, value: path, spellcheck: 'false', autocapitalize: 'off' });
                return formFor(ctx, {
                    label: 'Save as',
                    fields: [field('Path', target)],
                    submit: 'Save',
                    onCancel: close,
                    onSubmit: async () => {
                        const saved = await options.files.create(target.value.trim(), this.#editor?.text() ?? '');
                        ctx.go(workspaceHref(workspaceId, saved));
                    }
                });
            }, 'secondary'),
            deleteButton(ctx, `Delete ${path}?`, async () => {
                await ctx.session.client.files.delete(workspaceId, path);
                options.files.removed(path);
                ctx.go(workspaceHref(workspaceId));
            })
        ];
        this.element = h('section', { class: 'panel file-panel', 'aria-labelledby': 'file-title' },
            h('div', { class: 'panel-head' }, h('h2', { id: 'file-title' }, path), h('div', { class: 'tools', role: 'group', 'aria-label': `${path} actions` }, tools)),
            !canWrite && h('p', { class: 'notice' }, 'You are a viewer here: this file is read-only.'),
            this.#status, editor);
    }

    close(): void {
        this.#closed = true;
        this.#editor?.close();
    }
}
