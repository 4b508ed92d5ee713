import { Option, type Command } from 'commander';
import { JOB_STATUSES, type JobStatus } from '@collab/protocol';

import { action, examples, parseId } from '../lib/command.js';
import { jobTable } from '../lib/views.js';

/** `collab job list [--status S] [--workspace W]`. */
export function register(job: Command): void {
    job.command('list')
        .description('List your jobs, newest first')
        .addOption(new Option('--status <status>', 'only jobs with this status').choices(JOB_STATUSES))
        .option('--workspace <id>', 'only jobs of this workspace', parseId)
        .addHelpText('after', examples('collab job list --status failed'))
        .action(action<[], { status?: JobStatus; workspace?: number }>(() => 'list jobs', async (ctx, _args, { status, workspace }) => {
            return jobTable(await ctx.spin('Listing jobs', () => ctx.client().jobs.list({ status, workspace_id: workspace, limit: 200 }).toArray()));
        }));
}
