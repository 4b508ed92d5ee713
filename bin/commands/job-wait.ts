import type { Command } from 'commander';

import { action, examples } from '../lib/command.js';
import { waitAndPrint } from '../lib/job-wait.js';

/** `collab job wait <id>`. */
export function register(job: Command): void {
    job.command('wait')
        .description('Wait for a job to end, print its output and exit with its exit code (124: timed out)')
        .argument('<id>', 'job id (job_…)')
        .addHelpText('after', examples('collab job wait job_01HV3K9Q', 'collab job wait job_01HV3K9Q --json > result.json'))
        .action(action<[string]>((id) => `wait for job ${id}`, (ctx, [id]) => waitAndPrint(ctx, id)));
}
