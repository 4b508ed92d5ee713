import type { Command } from 'commander';

import { adminUserTable } from '../lib/admin-views.js';
import { action, examples } from '../lib/command.js';

interface Options {
    query?: string;
}

/** `collab admin users [-q TEXT]`. */
export function register(admin: Command): void {
    admin.command('users')
        .description('List the users (administrators only)')
        .option('-q, --query <text>', 'only users whose email or name contains TEXT (case-insensitive)')
        .addHelpText('after', examples('collab admin users', 'collab admin users -q grace --json'))
        .action(action<[], Options>(() => 'list the users', async (ctx, _args, options) => {
            const users = await ctx.spin('Fetching users', () => ctx.client().admin.users({ q: options.query || undefined }).toArray());
            return adminUserTable(users);
        }));
}
