import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import { RefreshToken, User } from '@collab/core';
import type { ModelObject } from 'objection';

import { cancelQueuedJobsOf } from '../jobs/cancel.js';

/** What an admin may change of a user. */
export interface UserChanges {
    is_active?: boolean;
    is_admin?: boolean;
}

/** What a deactivation did, for the audit trail. */
export interface UpdateOutcome {
    user: User;
    cancelled_jobs: string[];
}

/**
 * Applies an admin's change to a user. The last active admin can be neither
 * demoted nor deactivated (409): the admins are read under lock so two
 * concurrent demotions cannot both pass. Deactivation takes effect at once
 * everywhere: refresh tokens revoked for good, access tokens refused on every
 * instance, sockets of both transports closed, queued jobs cancelled.
 */
export async function updateUser(server: Server, userId: number, changes: UserChanges): Promise<UpdateOutcome> {
    const db = server.app.db;
    const { user, deactivated, reactivated } = await db.transaction(async (trx) => {
        const admins = await User.query(trx).select('id').where({ is_admin: true, is_active: true }).forUpdate();
        const target = await User.query(trx).findById(userId).forUpdate();
        if (!target) {
            throw Boom.notFound('User not found');
        }

        const losesAdmin = target.is_admin && target.is_active && (changes.is_admin === false || changes.is_active === false);
        if (losesAdmin && admins.length <= 1) {
            throw Boom.conflict('This is the last active admin: promote another user first');
        }

        const updated = await User.query(trx).patchAndFetchById(userId, changes);
        if (changes.is_active === false && target.is_active) {
            await RefreshToken.query(trx).patch({ revoked_at: new Date().toISOString() }).where({ user_id: userId }).whereNull('revoked_at');
        }

        return { user: updated, deactivated: changes.is_active === false && target.is_active, reactivated: changes.is_active === true && !target.is_active };
    });

    let cancelled: string[] = [];
    if (deactivated || reactivated) {
        await server.app.inactiveUsers.announce(userId, !deactivated);
    }

    if (deactivated) {
        await server.plugins['collab-realtime'].control.closeUserSockets(userId, 'account deactivated');
        cancelled = await cancelQueuedJobsOf(server, userId);
    }

    return { user, cancelled_jobs: cancelled };
}

/** The user as the admin API shows it. */
export function adminView(user: ModelObject<User>) {
    return {
        id: user.id,
        email: user.email,
        name: user.name,
        is_admin: user.is_admin,
        is_active: user.is_active,
        created_at: user.created_at,
        last_login_at: user.last_login_at
    };
}
