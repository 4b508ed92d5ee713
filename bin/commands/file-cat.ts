import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { text } from '../lib/output.js';

/** `collab file cat <workspace> <path>`. */
export function register(file: Command): void {
    file.command('cat')
        .description('Print a file of a workspace (with --json: the file, its revision and who wrote it)')
        .argument('<workspace>', 'workspace id', parseId)
        .argument('<path>', 'the file\'s path, e.g. src/main.py')
        .addHelpText('after', examples('collab file cat 31 src/main.py', 'collab file cat 31 src/main.py --json'))
        .action(action<[number, string]>((workspace, path) => `read ${path} in workspace ${workspace}`, async (ctx, [workspace, path]) => {
            const found = await ctx.spin('Fetching the file', () => ctx.client().files.get(workspace, path));
            return text(found, found.content);
        }));
}
