import type { Command } from 'commander';

import { action, examples } from '../lib/command.js';
import { record } from '../lib/output.js';

/** `collab whoami`. */
export function register(program: Command): void {
    program.command('whoami')
        .description('Show the user you are logged in as')
        .addHelpText('after', examples('collab whoami', 'collab whoami --json'))
        .action(action<[]>(() => 'show who you are', async (ctx) => {
            const user = await ctx.spin('Asking the server', () => ctx.client().auth.me());
            return record({ server: ctx.server, ...user }, [
                ['Server', (u) => u.server],
                ['Email', (u) => u.email],
                ['Name', (u) => u.name],
                ['User id', (u) => u.id],
                ['Admin', (u) => (u.is_admin ? 'yes' : 'no')]
            ]);
        }));
}
