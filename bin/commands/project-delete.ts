import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { message } from '../lib/output.js';

/** `collab project delete <id>`. */
export function register(project: Command): void {
    project.command('delete')
        .description('Delete a project with its workspaces, files and events (owners only)')
        .argument('<id>', 'project id', parseId)
        .addHelpText('after', examples('collab project delete 12'))
        .action(action<[number]>((id) => `delete project ${id}`, async (ctx, [id]) => {
            await ctx.spin('Deleting the project', () => ctx.client().projects.delete(id));
            return message({ id, deleted: true }, `Deleted project ${id}.`);
        }));
}
