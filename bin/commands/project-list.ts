import type { Command } from 'commander';

import { action, examples } from '../lib/command.js';
import { projectTable } from '../lib/views.js';

/** `collab project list`. */
export function register(project: Command): void {
    project.command('list')
        .description('List the projects you own or are a member of')
        .addHelpText('after', examples('collab project list', 'collab project list --json'))
        .action(action<[]>(() => 'list projects', async (ctx) => {
            return projectTable(await ctx.spin('Listing projects', () => ctx.client().projects.list({ limit: 200 }).toArray()));
        }));
}
