import { AuthenticationError } from '@collab/sdk';
import type { Command } from 'commander';

import { action, examples } from '../lib/command.js';
import { message } from '../lib/output.js';

/** `collab logout`: revokes the session on the server and forgets it here. */
export function register(program: Command): void {
    program.command('logout')
        .description('Log out of the server: revoke the session and delete the saved tokens')
        .addHelpText('after', examples('collab logout', 'collab logout --server https://collab.example.com'))
        .action(action<[]>(() => 'log out', async (ctx) => {
            const saved = ctx.store.login(ctx.server);
            if (!saved) {
                return message({ server: ctx.server, logged_out: false }, `You were not logged in to ${ctx.server}.`);
            }

            try {
                await ctx.anonymousClient().auth.logout(saved.refresh);
            }
            catch (err) {
                if (!(err instanceof AuthenticationError)) {     // 401: the session was already dead
                    throw err;
                }
            }

            ctx.store.removeLogin(ctx.server);

            return message({ server: ctx.server, logged_out: true }, `Logged out of ${ctx.server}.`);
        }));
}
