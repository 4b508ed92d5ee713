import { JOB_EVENTS, PRESENCE_EVENTS, type EventEnvelope, type Project, type Unsubscribe, type Workspace } from '@collab/sdk';

import { deleteButton, ErrorLine, formFor, revealer } from '../components.js';
import type { Context, View } from '../context.js';
import { field, h, replace } from '../dom.js';
import { projectHref } from '../router.js';
import { EventLog } from '../workspace/events.js';
import { FilePanel } from '../workspace/file-panel.js';
import { FileTree } from '../workspace/files.js';
import { JobHistory } from '../workspace/jobs.js';
import { HereNow } from '../workspace/presence.js';
import { Runner } from '../workspace/runner.js';

/** A workspace: files, the open file's editor, Output, job history, "Here now" and the event stream. */
export class WorkspaceView implements View {
    readonly element = h('main', { class: 'page workspace' });
    readonly #ctx: Context;
    readonly #id: number;
    readonly #error = new ErrorLine();
    readonly #editorSlot = h('div', { class: 'editor-slot' });
    #parts?: { files: FileTree; runner: Runner; jobs: JobHistory; here: HereNow; events: EventLog; canWrite: boolean; languages: Promise<string[]> };
    #panel?: FilePanel;
    #path?: string;
    #unsubscribe?: Promise<Unsubscribe | undefined>;
    #closed = false;

    constructor(ctx: Context, id: number, file?: string) {
        this.#ctx = ctx;
        this.#id = id;
        this.#path = file;
        replace(this.element, h('p', { role: 'status' }, 'Opening the workspace…'), this.#error.element);
        this.#load().catch((err: unknown) => {
            replace(this.element, h('h1', {}, 'Workspace'), this.#error.element, h('a', { href: '#/' }, 'All projects'));
            this.#error.show(ctx.explain(err));
        });
    }

    /** Opens another file of the same workspace; false for another workspace. */
    show(id: number, file?: string): boolean {
        if (id !== this.#id) {
            return false;
        }

        this.#path = file;
        this.#openFile();
        return true;
    }

    destroy(): void {
        this.#closed = true;
        this.#panel?.close();
        this.#parts?.runner.close();
        void this.#unsubscribe?.then((stop) => stop?.());
    }

    async #load(): Promise<void> {
        const client = this.#ctx.session.client;
        const workspace = await client.workspaces.get(this.#id);
        const project = await client.projects.get(workspace.project);
        if (this.#closed) {
            return;
        }

        const canWrite = project.role !== 'viewer';
        const files = new FileTree(this.#ctx, this.#id, canWrite);
        const jobs = new JobHistory(this.#ctx, this.#id, (job) => runner.show(job));
        const runner = new Runner(this.#ctx, this.#id, () => void jobs.load());
        const here = new HereNow(this.#ctx, this.#id);
        const events = new EventLog();
        const languages = canWrite ? client.jobs.languages().then((list) => list.map((l) => l.language)).catch((): string[] => []) : Promise.resolve([]);
        this.#parts = { files, runner, jobs, here, events, canWrite, languages };

        const title = h('h1', {}, workspace.name);
        replace(this.element,
            h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: '#/' }, 'Projects'), ' / ', h('a', { href: projectHref(project.id) }, project.name)),
            h('div', { class: 'title-row' }, title, h('span', { class: 'role' }, project.role), this.#actions(workspace, project, title)),
            this.#error.element,
            h('div', { class: 'columns' },
                h('div', { class: 'side' }, files.element, here.element),
                this.#editorSlot,
                h('div', { class: 'side' }, runner.element, canWrite && jobs.element, events.element)));

        this.#unsubscribe = client.realtime.subscribe(this.#id, (event) => this.#onEvent(event), {
            onResync: () => {
                events.note('Some events were missed while disconnected: the file list was reloaded.');
                void files.load();
            },
            onStatus: (status) => {
                if (status.state === 'connected') {
                    here.refresh();
                }
                else if (status.state === 'revoked' || status.state === 'ended') {
                    this.#error.show(status.state === 'revoked' ? 'Your access to this workspace was removed.' : this.#ctx.explain(status.error));
                }
            }
        }).catch((err: unknown) => {
            this.#error.show(`Live updates are off: ${this.#ctx.explain(err)}`);
            return undefined;
        });

        await files.load();
        here.refresh();
        if (canWrite) {
            void jobs.load();
        }

        this.#openFile();
    }

    #actions(workspace: Workspace, project: Project, title: HTMLElement): HTMLElement {
        const rename = project.role !== 'viewer' && revealer('Rename', (close) => {
            const name = h('input', { type: 'text', required: true, maxlength: 200, value: workspace.name });
            return formFor(this.#ctx, {
                fields: [field('Name', name)],
                submit: 'Save',
                onCancel: close,
                onSubmit: async () => {
                    workspace = await this.#ctx.session.client.workspaces.update(workspace.id, { name: name.value.trim() });
                    title.textContent = workspace.name;
                    close();
                }
            });
        }, 'secondary');
        const remove = project.role === 'owner' && deleteButton(this.#ctx, `Delete the workspace ${workspace.name} with its files?`, async () => {
            await this.#ctx.session.client.workspaces.delete(workspace.id);
            this.#ctx.go(projectHref(project.id));
        });
        return h('div', { class: 'actions', role: 'group', 'aria-label': 'Workspace actions' }, rename, remove);
    }

    #openFile(): void {
        const parts = this.#parts;
        if (!parts) {
            return;                                     // #load() opens it
        }

        this.#panel?.close();
        this.#panel = undefined;
        parts.files.select(this.#path);
        if (!this.#path) {
            replace(this.#editorSlot, h('section', { class: 'panel empty-editor' },
                h('h2', {}, 'No file open'), h('p', {}, parts.canWrite ? 'Choose a file, or make one with "New file".' : 'Choose a file to read it.')));
            return;
        }

        this.#panel = new FilePanel(this.#ctx, { workspaceId: this.#id, path: this.#path, canWrite: parts.canWrite, languages: parts.languages, files: parts.files, runner: parts.runner });
        replace(this.#editorSlot, this.#panel.element);
    }

    #onEvent(event: EventEnvelope): void {
        const parts = this.#parts!;
        parts.events.add(event);
        const file = (event.payload as { file?: unknown } | null)?.file;
        if (event.event === 'file_change' && typeof file === 'string') {
            parts.files.added(file);
        }
        else if (event.event === 'file_delete' && typeof file === 'string') {
            parts.files.removed(file);
            if (file === this.#path) {
                this.#error.show(`${file} was deleted.`);
            }
        }
        else if ((PRESENCE_EVENTS as readonly string[]).includes(event.event)) {
            parts.here.refresh();
        }
        else if (event.event === JOB_EVENTS.finished && event.user_id === this.#ctx.user.id && parts.canWrite) {
            void parts.jobs.load();
        }
    }
}
