import Boom from '@hapi/boom';
import type { Request } from '@hapi/hapi';
import { User } from '@collab/core';

import { caller } from '../plugins/auth.js';

/** Route prerequisite: the caller must be an active admin (checked in the database, so a demotion counts at once). */
export async function requireAdmin(request: Request): Promise<User> {
    const admin = await User.query(request.server.app.db).findById(caller(request).id);
    if (!admin?.is_admin || !admin.is_active) {
        throw Boom.forbidden('Administrators only');
    }

    return admin;
}

/** Writes one audit line: which admin did what to what. Never tokens or passwords. */
export function audit(request: Request, action: string, details: Record<string, unknown>): void {
    request.server.app.logger.info({ audit: true, admin_id: caller(request).id, action, ...details }, `admin ${action}`);
}
