import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { message } from '../lib/output.js';

/** `collab workspace delete <id>`. */
export function register(workspace: Command): void {
    workspace.command('delete')
        .description('Delete a workspace with its files and events (owners only)')
        .argument('<id>', 'workspace id', parseId)
        .addHelpText('after', examples('collab workspace delete 31'))
        .action(action<[number]>((id) => `delete workspace ${id}`, async (ctx, [id]) => {
            await ctx.spin('Deleting the workspace', () => ctx.client().workspaces.delete(id));
            return message({ id, deleted: true }, `Deleted workspace ${id}.`);
        }));
}
