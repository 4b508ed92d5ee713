import type { Command } from 'commander';

import { action, examples } from '../lib/command.js';
import { message } from '../lib/output.js';

/** `collab job cancel <id>`. */
export function register(job: Command): void {
    job.command('cancel')
        .description('Cancel a queued or running job you submitted')
        .argument('<id>', 'job id (job_…)')
        .addHelpText('after', examples('collab job cancel job_01HV3K9Q'))
        .action(action<[string]>((id) => `cancel job ${id}`, async (ctx, [id]) => {
            const result = await ctx.spin('Cancelling', () => ctx.client().jobs.cancel(id));
            return message(result, result.status === 'cancelled' ? `Cancelled job ${id}.` : `Cancelling job ${id}: it is stopped first (now ${result.status}).`);
        }));
}
