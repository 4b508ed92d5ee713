import type { Command } from 'commander';

import { statsView } from '../lib/admin-views.js';
import { action, examples } from '../lib/command.js';

/** `collab admin stats`. */
export function register(admin: Command): void {
    admin.command('stats')
        .description('Show the system at a glance: counts, sockets per server instance, jobs by status, live workers (administrators only)')
        .addHelpText('after', examples('collab admin stats', 'collab admin stats --json | jq .workers'))
        .action(action<[]>(() => 'show the statistics', async (ctx) => statsView(await ctx.spin('Fetching statistics', () => ctx.client().admin.stats()))));
}
