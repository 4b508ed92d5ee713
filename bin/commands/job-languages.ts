import type { Command } from 'commander';

import { action, examples } from '../lib/command.js';
import { languageTable } from '../lib/views.js';

/** `collab job languages`. */
export function register(job: Command): void {
    job.command('languages')
        .description('List the languages the running workers can execute')
        .addHelpText('after', examples('collab job languages'))
        .action(action<[]>(() => 'list languages', async (ctx) => {
            return languageTable(await ctx.spin('Asking the workers', () => ctx.client().jobs.languages()));
        }));
}
