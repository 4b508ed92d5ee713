import { Argument, type Command } from 'commander';
import type { Role } from '@collab/sdk';
import { ROLES } from '@collab/protocol';

import { action, examples, parseId } from '../lib/command.js';
import { message } from '../lib/output.js';

/** `collab member set-role <project> <user_id> <role>`. */
export function register(member: Command): void {
    member.command('set-role')
        .description('Change a member\'s role (owners only; a project keeps at least one owner)')
        .argument('<project>', 'project id', parseId)
        .argument('<user_id>', 'the member\'s user id', parseId)
        .addArgument(new Argument('<role>', 'the new role').choices(ROLES))
        .addHelpText('after', examples('collab member set-role 12 7 viewer'))
        .action(action<[number, number, Role]>((project, user) => `change the role of user ${user} in project ${project}`, async (ctx, [project, user, role]) => {
            const changed = await ctx.spin('Changing the role', () => ctx.client().members.setRole(project, user, role));
            return message(changed, `${changed.user.email} is now ${changed.role} in project ${project}.`);
        }));
}
