import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { projectRecord } from '../lib/views.js';

/** `collab project show <id>`. */
export function register(project: Command): void {
    project.command('show')
        .description('Show a project')
        .argument('<id>', 'project id', parseId)
        .addHelpText('after', examples('collab project show 12'))
        .action(action<[number]>((id) => `show project ${id}`, async (ctx, [id]) => {
            return projectRecord(await ctx.spin('Fetching the project', () => ctx.client().projects.get(id)));
        }));
}
