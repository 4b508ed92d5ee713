import type { Command } from 'commander';

import { action, examples } from '../lib/command.js';
import { message } from '../lib/output.js';

/** `collab admin job retry <id>`. */
export function register(admin: Command): void {
    const job = admin.command('job')
        .description('Operate on jobs (administrators only)')
        .addHelpText('after', examples('collab admin job retry job_01HV3K9Q'));
    job.command('retry')
        .description('Re-queue a job that ended in error')
        .argument('<id>', 'job id (job_…)')
        .addHelpText('after', examples('collab admin job retry job_01HV3K9Q'))
        .action(action<[string]>((id) => `retry job ${id}`, async (ctx, [id]) => {
            const retried = await ctx.spin('Re-queueing', () => ctx.client().admin.retryJob(id));
            return message(retried, `Re-queued job ${retried.job_id}: follow it with collab job wait ${retried.job_id}.`);
        }));
}
