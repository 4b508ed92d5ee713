import { ErrorLine, formFor, revealer } from '../components.js';
import type { Context, View } from '../context.js';
import { field, h, replace } from '../dom.js';
import { projectHref } from '../router.js';

/** The projects the user owns or is a member of, and "New project". */
export function projectsView(ctx: Context): View {
    const list = h('ul', { class: 'links', 'aria-label': 'Projects' });
    const error = new ErrorLine();
    const create = revealer('New project', (close) => {
        const name = h('input', { type: 'text', required: true, maxlength: 200 });
        return formFor(ctx, {
            label: 'New project',
            fields: [field('Name', name)],
            submit: 'Create',
            onCancel: close,
            onSubmit: async () => {
                const project = await ctx.session.client.projects.create({ name: name.value.trim() });
                ctx.go(projectHref(project.id));
            }
        });
    });

    ctx.session.client.projects.list().toArray().then((projects) => {
        replace(list, ...projects.map((p) => h('li', {}, h('a', { href: projectHref(p.id) }, p.name), h('span', { class: 'role' }, p.role))));
        if (!projects.length) {
            replace(list, h('li', { class: 'empty' }, 'No projects yet: make one with "New project".'));
        }
    }).catch((err: unknown) => error.show(ctx.explain(err)));

    return { element: h('main', { class: 'page' }, h('h1', {}, 'Projects'), create, error.element, list) };
}
