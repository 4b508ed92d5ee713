import type { Command } from 'commander';

import { action, examples, parseId } from '../lib/command.js';
import { readSource } from '../lib/input.js';
import { message } from '../lib/output.js';

interface Options {
    file?: string;
    code?: string;
    language: string;
    workspace?: number;
}

/** `collab job submit (--file F | --code C | -) --language L [--workspace W]`. */
export function register(job: Command): void {
    job.command('submit')
        .description('Run code in the sandbox: queues a job and prints its id')
        .argument('[-]', '- to read the code from stdin')
        .option('--file <file>', 'read the code from a local file')
        .option('--code <code>', 'the code itself')
        .requiredOption('--language <language>', 'the language (see collab job languages)')
        .option('--workspace <id>', 'run it for a workspace (owners and collaborators there)', parseId)
        .addHelpText('after', examples(
            'collab job submit --file hello.py --language python',
            'echo \'console.log(6 * 7)\' | collab job submit - --language node --workspace 31'
        ))
        .action(action<[string?], Options>(() => 'submit the job', async (ctx, [dash], options) => {
            const code = await readSource({ file: options.file, inline: options.code, inlineFlag: '--code C', dash });
            const queued = await ctx.spin('Submitting', () => ctx.client().jobs.submit({ code, language: options.language, workspace_id: options.workspace }));
            return message(queued, `Queued job ${queued.job_id}: see collab job status ${queued.job_id}.`);
        }));
}
