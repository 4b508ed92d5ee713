import { AuthenticationError } from '@collab/sdk';
import type { Command } from 'commander';

import { action, examples } from '../lib/command.js';
import { CliError, UsageError } from '../lib/errors.js';
import { readStdinLine } from '../lib/input.js';
import { message } from '../lib/output.js';
import { prompt, promptHidden } from '../lib/prompt.js';

interface Options {
    email?: string;
    passwordStdin?: boolean;
}

/** `collab login`: saves tokens for the server and remembers it as the default. */
export function register(program: Command): void {
    program.command('login')
        .description('Log in to a collab server and remember it as the default server')
        .option('--email <email>', 'your email (prompted for on a terminal when not given)')
        .option('--password-stdin', 'read the password from the first line of stdin')
        .addHelpText('after', examples(
            'collab login --server https://collab.example.com',
            'echo "$PASSWORD" | collab login --email ada@example.com --password-stdin --json'
        ))
        .action(action<[], Options>(() => 'log in', async (ctx, _args, options) => {
            const interactive = process.stdin.isTTY === true && !ctx.json;
            if (!options.email && !interactive) {
                throw new UsageError('Give --email (and --password-stdin) when not on a terminal or with --json');
            }

            const email = options.email ?? (await prompt('Email: ')).trim();
            let password: string | undefined;
            if (options.passwordStdin) {
                password = await readStdinLine();
            }
            else if (interactive) {
                password = await promptHidden('Password: ');
            }
            else {
                throw new UsageError('Pass the password with --password-stdin when not on a terminal or with --json');
            }

            if (!password) {
                throw new UsageError('No password given');
            }

            const client = ctx.anonymousClient();
            const tokens = await ctx.spin('Logging in', () => client.auth.login({ email, password })).catch((err: unknown) => {
                throw err instanceof AuthenticationError ? new CliError('Wrong email or password.') : err;
            });
            const user = await client.auth.me();
            ctx.store.saveLogin(ctx.server, { email: user.email, user_id: user.id, ...tokens });
            ctx.store.setDefaultServer(ctx.server);
            return message({ server: ctx.server, user }, `Logged in to ${ctx.server} as ${user.email}.`);
        }));
}
