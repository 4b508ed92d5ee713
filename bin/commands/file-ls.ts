import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { fileTable } from '../lib/views.js';

/** `collab file ls <workspace>`. */
export function register(file: Command): void {
    file.command('ls')
        .description('List the files of a workspace')
        .argument('<workspace>', 'workspace id', parseId)
        .addHelpText('after', examples('collab file ls 31'))
        .action(action<[number]>((workspace) => `list the files of workspace ${workspace}`, async (ctx, [workspace]) => {
            return fileTable(await ctx.spin('Listing files', () => ctx.client().files.list(workspace, { limit: 200 }).toArray()));
        }));
}
