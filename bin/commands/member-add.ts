import { Option, type Command } from 'commander';
import type { Role } from '@collab/sdk';
import { ROLES } from '@collab/protocol';

import { action, examples, parseId } from '../lib/command.js';
import { message } from '../lib/output.js';

/** `collab member add <project> <email> --role R`. */
export function register(member: Command): void {
    member.command('add')
        .description('Add a user to a project, by email (or user id), with a role (owners only)')
        .argument('<project>', 'project id', parseId)
        .argument('<email>', 'the user\'s email, or their user id')
        .addOption(new Option('--role <role>', 'the member\'s role').choices(ROLES).makeOptionMandatory())
        .addHelpText('after', examples('collab member add 12 grace@example.com --role collaborator'))
        .action(action<[number, string], { role: Role }>((project, who) => `add ${who} to project ${project}`, async (ctx, [project, who], { role }) => {
            const params = /^\d+$/.test(who) ? { user_id: Number(who), role } : { email: who, role };
            const added = await ctx.spin('Adding the member', () => ctx.client().members.add(project, params));
            return message(added, `Added ${added.user.email} to project ${project} as ${added.role}.`);
        }));
}
