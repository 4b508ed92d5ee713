import type { Command } from 'commander';

import { action, examples } from '../lib/command.js';
import { projectRecord } from '../lib/views.js';

/** `collab project create <name>`. */
export function register(project: Command): void {
    project.command('create')
        .description('Create a project (you become its owner)')
        .argument('<name>', 'the project\'s name')
        .option('--description <text>', 'what the project is for')
        .addHelpText('after', examples('collab project create "Compiler course" --description "Exercises for week 3"'))
        .action(action<[string], { description?: string }>(() => 'create the project', async (ctx, [name], { description }) => {
            return projectRecord(await ctx.spin('Creating the project', () => ctx.client().projects.create({ name, description })));
        }));
}
