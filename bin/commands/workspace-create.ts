import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { workspaceRecord } from '../lib/views.js';

/** `collab workspace create <project> <name>`. */
export function register(workspace: Command): void {
    workspace.command('create')
        .description('Create a workspace in a project (owners and collaborators)')
        .argument('<project>', 'project id', parseId)
        .argument('<name>', 'the workspace\'s name')
        .option('--description <text>', 'what the workspace is for')
        .addHelpText('after', examples('collab workspace create 12 "Lexer"'))
        .action(action<[number, string], { description?: string }>((project) => `create a workspace in project ${project}`, async (ctx, [project, name], { description }) => {
            return workspaceRecord(await ctx.spin('Creating the workspace', () => ctx.client().workspaces.create(project, { name, description })));
        }));
}
