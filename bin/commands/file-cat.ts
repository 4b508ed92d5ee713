import type { Command } from 'commander';

import { action, examples, parseId, parsePath } from '../lib/command.js';
import { followDocument } from '../lib/doc-follow.js';
import { nothing, text } from '../lib/output.js';

interface Options {
    follow?: boolean;
}

/** `collab file cat <workspace> <path> [--follow]`. */
export function register(file: Command): void {
    file.command('cat')
        .description('Print a file of a workspace (with --json: the file, its revision and who wrote it); with --follow, print it again on every change until Ctrl-C')
        .argument('<workspace>', 'workspace id', parseId)
        .argument('<path>', 'the file\'s path, e.g. src/main.py', parsePath)
        .option('-f, --follow', 'follow the file as people edit it: print its whole text again after every change')
        .addHelpText('after', `${examples('collab file cat 31 src/main.py', 'collab file cat 31 src/main.py --json', 'collab file cat 31 notes.md --follow --json | jq -r .content')}
With --follow --json: one {path, revision?, content} object per line, the first as soon as the live
document is in sync; revision is there while the text is the one the REST view had when
following began (later lines follow the live document, ahead of the REST view).
On a terminal, each new version replaces the last one on screen. Connection notices go to stderr.
`)
        .action(action<[number, string], Options>((workspace, path) => `read ${path} in workspace ${workspace}`, async (ctx, [workspace, path], options) => {
            const found = await ctx.spin('Fetching the file', () => ctx.client().files.get(workspace, path));
            if (!options.follow) {
                return text(found, found.content);
            }

            await followDocument(ctx.client(), { workspace, file: found, json: ctx.json, interactive: process.stdout.isTTY === true && !ctx.json });
            return nothing();
        }));
}
