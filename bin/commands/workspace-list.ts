import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { workspaceTable } from '../lib/views.js';

/** `collab workspace list <project>`. */
export function register(workspace: Command): void {
    workspace.command('list')
        .description('List the workspaces of a project')
        .argument('<project>', 'project id', parseId)
        .addHelpText('after', examples('collab workspace list 12'))
        .action(action<[number]>((project) => `list the workspaces of project ${project}`, async (ctx, [project]) => {
            return workspaceTable(await ctx.spin('Listing workspaces', () => ctx.client().workspaces.list(project, { limit: 200 }).toArray()));
        }));
}
