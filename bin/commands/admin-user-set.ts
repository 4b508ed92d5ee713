import type { AdminUserChanges } from '@collab/sdk';
import type { Command } from 'commander';

import { adminUserRecord } from '../lib/admin-views.js';
import { action, examples, parseId } from '../lib/command.js';
import { UsageError } from '../lib/errors.js';

interface Options {
    active?: boolean;
    inactive?: boolean;
    admin?: boolean;
}

/** `collab admin user set <id> [--active|--inactive] [--admin|--no-admin]`. */
export function register(admin: Command): void {
    const user = admin.command('user')
        .description('Change a user\'s account (administrators only)')
        .addHelpText('after', examples('collab admin user set 42 --inactive'));
    user.command('set')
        .description('Activate or deactivate a user, and grant or take away administration')
        .argument('<id>', 'user id (see collab admin users)', parseId)
        .option('--active', 'reactivate the account')
        .option('--inactive', 'deactivate the account: refuses their tokens at once, closes their sockets, cancels their queued jobs')
        .option('--admin', 'make the user an administrator')
        .option('--no-admin', 'take administration away (never from the last active admin)')
        .addHelpText('after', examples('collab admin user set 42 --inactive', 'collab admin user set 7 --active --admin'))
        .action(action<[number], Options>((id) => `change user ${id}`, async (ctx, [id], options) => {
            if (options.active && options.inactive) {
                throw new UsageError('Give --active or --inactive, not both');
            }

            const changes: AdminUserChanges = {};
            if (options.active || options.inactive) {
                changes.is_active = options.active === true;
            }

            if (options.admin !== undefined) {
                changes.is_admin = options.admin;
            }

            if (Object.keys(changes).length === 0) {
                throw new UsageError('Nothing to change: give --active, --inactive, --admin or --no-admin');
            }

            return adminUserRecord(await ctx.spin('Updating the user', () => ctx.client().admin.updateUser(id, changes)));
        }));
}
