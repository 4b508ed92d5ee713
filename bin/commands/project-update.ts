import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { UsageError } from '../lib/errors.js';
import { projectRecord } from '../lib/views.js';

/** `collab project update <id>`. */
export function register(project: Command): void {
    project.command('update')
        .description('Change a project\'s name or description (owners and collaborators)')
        .argument('<id>', 'project id', parseId)
        .option('--name <name>', 'new name')
        .option('--description <text>', 'new description')
        .addHelpText('after', examples('collab project update 12 --name "Compiler course 2026"'))
        .action(action<[number], { name?: string; description?: string }>((id) => `update project ${id}`, async (ctx, [id], { name, description }) => {
            if (name === undefined && description === undefined) {
                throw new UsageError('Give --name or --description (or both)');
            }

            return projectRecord(await ctx.spin('Updating the project', () => ctx.client().projects.update(id, { name, description })));
        }));
}
