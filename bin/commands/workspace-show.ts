import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { workspaceRecord } from '../lib/views.js';

/** `collab workspace show <id>`. */
export function register(workspace: Command): void {
    workspace.command('show')
        .description('Show a workspace')
        .argument('<id>', 'workspace id', parseId)
        .addHelpText('after', examples('collab workspace show 31'))
        .action(action<[number]>((id) => `show workspace ${id}`, async (ctx, [id]) => {
            return workspaceRecord(await ctx.spin('Fetching the workspace', () => ctx.client().workspaces.get(id)));
        }));
}
