import { NotFoundError, ROLES, type Member, type Project, type Role } from '@collab/sdk';

import { ErrorLine, formFor } from '../components.js';
import type { Context } from '../context.js';
import { field, h, replace } from '../dom.js';
import { Refusal } from '../errors.js';

/** A project's members with their roles; owners add by email, change roles and remove. */
export function membersSection(ctx: Context, project: Project): HTMLElement {
    const owner = project.role === 'owner';
    const list = h('ul', { class: 'members', 'aria-label': 'Members' });
    const error = new ErrorLine();
    const load = (): void => {
        ctx.session.client.members.list(project.id).toArray().then((members) => {
            replace(list, ...members.map((member) => memberItem(ctx, project, member, error, load)));
        }).catch((err: unknown) => error.show(ctx.explain(err)));
    };

    let add: HTMLFormElement | false = false;
    if (owner) {
        const email = h('input', { type: 'email', required: true, autocomplete: 'off' });
        const role = roleSelect('collaborator');
        add = formFor(ctx, {
            label: 'Add a member',
            fields: [field('Member email', email), field('Role', role)],
            submit: 'Add member',
            onSubmit: async () => {
                await ctx.session.client.members.add(project.id, { email: email.value.trim(), role: role.value as Role }).catch((err: unknown) => {
                    throw err instanceof NotFoundError ? new Refusal('Nobody has registered with that email yet: ask them to register first.') : err;
                });
                email.value = '';
                load();
            }
        });
    }

    load();
    return h('section', { 'aria-labelledby': 'members-title' }, h('h2', { id: 'members-title' }, 'Members'), error.element, list, add);
}

function memberItem(ctx: Context, project: Project, member: Member, error: ErrorLine, reload: () => void): HTMLElement {
    const { user } = member;
    const self = user.id === ctx.user.id;
    const who = h('span', { class: 'who' }, user.name ? `${user.name} (${user.email})` : user.email);
    if (project.role !== 'owner') {
        const leave = (): void => {
            ctx.session.client.members.remove(project.id, user.id).then(() => ctx.go('#/')).catch((err: unknown) => error.show(ctx.explain(err)));
        };
        return h('li', {}, who, h('span', { class: 'role' }, member.role), self && h('button', { type: 'button', class: 'secondary', onclick: leave }, 'Leave project'));
    }

    const access = roleSelect(member.role);
    access.setAttribute('aria-label', `Access of ${user.email}`);
    access.addEventListener('change', () => {
        error.clear();
        ctx.session.client.members.setRole(project.id, user.id, access.value as Role).then(reload).catch((err: unknown) => {
            access.value = member.role;
            error.show(ctx.explain(err));
        });
    });
    const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${user.email}` }, 'Remove');
    remove.addEventListener('click', () => {
        error.clear();
        ctx.session.client.members.remove(project.id, user.id).then(() => (self ? ctx.go('#/') : reload())).catch((err: unknown) => error.show(ctx.explain(err)));
    });
    return h('li', {}, who, access, remove);
}

function roleSelect(value: Role): HTMLSelectElement {
    const select = h('select', {}, ...ROLES.map((role) => h('option', { value: role }, role)));
    select.value = value;
    return select;
}
