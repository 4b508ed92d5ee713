import type { Command } from 'commander';

import { action, examples } from '../lib/command.js';
import { jobRecord } from '../lib/views.js';

/** `collab job status <id>`. */
export function register(job: Command): void {
    job.command('status')
        .description('Show a job: its status, exit code and output')
        .argument('<id>', 'job id (job_…)')
        .addHelpText('after', examples('collab job status job_01HV3K9Q'))
        .action(action<[string]>((id) => `show job ${id}`, async (ctx, [id]) => {
            return jobRecord(await ctx.spin('Fetching the job', () => ctx.client().jobs.get(id)));
        }));
}
