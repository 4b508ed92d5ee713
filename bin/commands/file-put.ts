import type { Command } from 'commander';

import { action, examples, parseCount, parseId, parsePath } from '../lib/command.js';
import { readSource } from '../lib/input.js';
import { message } from '../lib/output.js';

interface Options {
    file?: string;
    content?: string;
    baseRevision?: number;
}

/** `collab file put <workspace> <path> (--file F | --content C | -)`. */
export function register(file: Command): void {
    file.command('put')
        .description('Write a file of a workspace from a local file, a string or stdin (owners and collaborators)')
        .argument('<workspace>', 'workspace id', parseId)
        .argument('<path>', 'the file\'s path in the workspace, e.g. src/main.py', parsePath)
        .argument('[-]', '- to read the content from stdin')
        .option('--file <file>', 'read the content from a local file')
        .option('--content <text>', 'the content itself')
        .option('--base-revision <n>', 'write only if the file is still at this revision (0: only if it does not exist)', parseCount)
        .addHelpText('after', examples(
            'collab file put 31 src/main.py --file main.py',
            'collab file put 31 notes.md --content "# Notes" --base-revision 2',
            'echo "print(1)" | collab file put 31 one.py -'
        ))
        .action(action<[number, string, string?], Options>((workspace, path) => `write ${path} in workspace ${workspace}`, async (ctx, [workspace, path, dash], options) => {
            const content = await readSource({ file: options.file, inline: options.content, inlineFlag: '--content C', dash });
            const written = await ctx.spin('Writing the file', () => ctx.client().files.put(workspace, path, { content, base_revision: options.baseRevision }));
            return message(written, `Wrote ${written.path} (revision ${written.revision}).`);
        }));
}
