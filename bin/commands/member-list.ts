import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { memberTable } from '../lib/views.js';

/** `collab member list <project>`. */
export function register(member: Command): void {
    member.command('list')
        .description('List the members of a project and their roles')
        .argument('<project>', 'project id', parseId)
        .addHelpText('after', examples('collab member list 12'))
        .action(action<[number]>((project) => `list the members of project ${project}`, async (ctx, [project]) => {
            return memberTable(await ctx.spin('Listing members', () => ctx.client().members.list(project, { limit: 200 }).toArray()));
        }));
}
