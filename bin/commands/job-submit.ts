import type { Command } from 'commander';

import { action, examples, parseCount, parseId } from '../lib/command.js';
import { readSource } from '../lib/input.js';
import { waitAndPrint } from '../lib/job-wait.js';
import { message } from '../lib/output.js';

interface Options {
    file?: string;
    code?: string;
    language: string;
    workspace?: number;
    timeout?: number;
    wait?: boolean;
}

/** `collab job submit (--file F | --code C | -) --language L [--workspace W] [--wait]`. */
export function register(job: Command): void {
    job.command('submit')
        .description('Run code in the sandbox: queues a job and prints its id, or with --wait its output')
        .argument('[-]', '- to read the code from stdin')
        .option('--file <file>', 'read the code from a local file')
        .option('--code <code>', 'the code itself')
        .requiredOption('--language <language>', 'the language (see collab job languages)')
        .option('--workspace <id>', 'run it for a workspace (owners and collaborators there)', parseId)
        .option('--timeout <ms>', 'wall-clock limit in milliseconds (default 10000, at most 60000)', parseCount)
        .option('--wait', 'wait for it to end, print its output and exit with its exit code (124: timed out)')
        .addHelpText('after', examples(
            'collab job submit --file hello.py --language python',
            'collab job submit --code "print(\'Hello World\')" --language python --wait',
            'echo \'console.log(6 * 7)\' | collab job submit - --language node --workspace 31'
        ))
        .action(action<[string?], Options>(() => 'submit the job', async (ctx, [dash], options) => {
            const code = await readSource({ file: options.file, inline: options.code, inlineFlag: '--code C', dash });
            const client = ctx.client();
            const queued = await ctx.spin('Submitting', () => client.jobs.submit({ code, language: options.language, workspace_id: options.workspace, timeout_ms: options.timeout }));
            if (options.wait) {
                return waitAndPrint(ctx, queued.job_id);
            }

            return message(queued, `Queued job ${queued.job_id}: see collab job status ${queued.job_id}.`);
        }));
}
