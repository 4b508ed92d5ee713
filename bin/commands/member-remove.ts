import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { message } from '../lib/output.js';

/** `collab member remove <project> <user_id>`. */
export function register(member: Command): void {
    member.command('remove')
        .description('Remove a member from a project (owners, or the member itself)')
        .argument('<project>', 'project id', parseId)
        .argument('<user_id>', 'the member\'s user id', parseId)
        .addHelpText('after', examples('collab member remove 12 7'))
        .action(action<[number, number]>((project, user) => `remove user ${user} from project ${project}`, async (ctx, [project, user]) => {
            await ctx.spin('Removing the member', () => ctx.client().members.remove(project, user));
            return message({ project, user_id: user, removed: true }, `Removed user ${user} from project ${project}.`);
        }));
}
