import type { Job } from '@collab/sdk';

import type { Context } from './context.js';
import { EXIT } from './errors.js';
import { text, type Output } from './output.js';

/** What a job's end means for the command: an exit code, and a sentence when the program did not simply run. */
function outcome(job: Job): { code: number; sentence?: string } {
    switch (job.status) {
        case 'succeeded':
            return { code: EXIT.ok };
        case 'failed':
            return { code: job.exit_code && job.exit_code > 0 && job.exit_code < 256 ? job.exit_code : EXIT.error };
        case 'timed_out':
            return { code: EXIT.timedOut, sentence: `Job ${job.job_id} timed out${job.error ? `: ${job.error}` : ''}.` };
        case 'cancelled':
            return { code: EXIT.error, sentence: `Job ${job.job_id} was cancelled.` };
        default:
            return { code: EXIT.error, sentence: `Job ${job.job_id} could not be run${job.error ? `: ${job.error}` : ''}.` };
    }
}

/**
 * Waits for a job with a spinner on stderr (on a terminal), then prints the program's stdout on
 * stdout and its stderr on stderr (with `--json`: the job), and sets the exit code: the
 * program's, 124 when it timed out, 1 when it was cancelled or could not run.
 */
export async function waitAndPrint(ctx: Context, jobId: string): Promise<Output> {
    const client = ctx.client();
    const job = await ctx.spin(`Job ${jobId} queued`, (setText) => client.jobs.wait(jobId, {
        onStatus: (status) => setText(`Job ${jobId} ${status}`)
    }));
    const { code, sentence } = outcome(job);
    if (!ctx.json) {
        process.stderr.write(job.stderr);
        if (job.truncated) {
            process.stderr.write(`${job.stderr && !job.stderr.endsWith('\n') ? '\n' : ''}(The output was truncated at 64 KiB per stream.)\n`);
        }
    }

    if (sentence) {
        process.stderr.write(`${sentence}\n`);
    }

    process.exitCode = code;
    return text(job, job.stdout);
}
