import type { Project } from '@collab/sdk';

import { deleteButton, ErrorLine, formFor, revealer } from '../components.js';
import type { Context, View } from '../context.js';
import { field, h, replace } from '../dom.js';
import { workspaceHref } from '../router.js';
import { membersSection } from './members.js';

/** A project: rename and delete (as the role allows), its workspaces, and its members. */
export function projectView(ctx: Context, id: number): View {
    const element = h('main', { class: 'page' });
    const error = new ErrorLine();
    replace(element, h('p', { role: 'status' }, 'Loading the project…'), error.element);
    ctx.session.client.projects.get(id).then((project) => render(ctx, element, project)).catch((err: unknown) => {
        replace(element, h('h1', {}, 'Project'), error.element, h('a', { href: '#/' }, 'All projects'));
        error.show(ctx.explain(err));
    });
    return { element };
}

function render(ctx: Context, element: HTMLElement, project: Project): void {
    const title = h('h1', {}, project.name);
    const canWrite = project.role !== 'viewer';
    const rename = canWrite && revealer('Rename', (close) => {
        const name = h('input', { type: 'text', required: true, maxlength: 200, value: project.name });
        return formFor(ctx, {
            fields: [field('Name', name)],
            submit: 'Save',
            onCancel: close,
            onSubmit: async () => {
                project = await ctx.session.client.projects.update(project.id, { name: name.value.trim() });
                title.textContent = project.name;
                close();
            }
        });
    }, 'secondary');
    const remove = project.role === 'owner' && deleteButton(ctx, `Delete ${project.name} with all its workspaces and files?`, async () => {
        await ctx.session.client.projects.delete(project.id);
        ctx.go('#/');
    });

    replace(element,
        h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: '#/' }, 'Projects')),
        title,
        h('p', { class: 'meta' }, `Your role: ${project.role}`),
        h('div', { class: 'actions', role: 'group', 'aria-label': 'Project actions' }, rename, remove),
        workspacesSection(ctx, project),
        membersSection(ctx, project));
}

function workspacesSection(ctx: Context, project: Project): HTMLElement {
    const list = h('ul', { class: 'links', 'aria-label': 'Workspaces' });
    const error = new ErrorLine();
    const create = project.role !== 'viewer' && revealer('New workspace', (close) => {
        const name = h('input', { type: 'text', required: true, maxlength: 200 });
        return formFor(ctx, {
            label: 'New workspace',
            fields: [field('Name', name)],
            submit: 'Create',
            onCancel: close,
            onSubmit: async () => {
                const workspace = await ctx.session.client.workspaces.create(project.id, { name: name.value.trim() });
                ctx.go(workspaceHref(workspace.id));
            }
        });
    });

    ctx.session.client.workspaces.list(project.id).toArray().then((workspaces) => {
        replace(list, ...workspaces.map((w) => h('li', {}, h('a', { href: workspaceHref(w.id) }, w.name))));
        if (!workspaces.length) {
            replace(list, h('li', { class: 'empty' }, 'No workspaces yet.'));
        }
    }).catch((err: unknown) => error.show(ctx.explain(err)));

    return h('section', { 'aria-labelledby': 'workspaces-title' }, h('h2', { id: 'workspaces-title' }, 'Workspaces'), create, error.element, list);
}
