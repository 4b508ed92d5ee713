import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import { CloseCode, type Role } from '@collab/protocol';
import { User, type Workspace } from '@collab/core';
import type { Knex } from 'knex';

import { verifyToken, type AccessClaims } from '../auth/tokens.js';
import type { AuthUser } from '../context.js';
import type { AccessCache } from './access-cache.js';
import type { Admission } from './admission.js';
import type { Hub } from './hub.js';

/** True when the user exists and is active (deactivated accounts get no socket, whatever their token says). */
export async function activeUser(db: Knex, userId: number): Promise<boolean> {
    const row: unknown = await db(User.tableName).first('id').where({ id: userId, is_active: true });
    return row !== undefined;
}

/** Who opens a workspace socket: the user, the token's expiry, and their place in the workspace. */
export interface SocketGrant {
    user: AuthUser;
    exp: number;
    workspace: Workspace;
    role: Role;
}

/** Why a socket is refused before its handshake: a close code and a reason. */
export interface SocketRefusal {
    code: number;
    reason: string;
}

/** What limits a user's sockets on this instance. */
export interface SocketLimits {
    access: AccessCache;
    admission: Admission;
    hub: Hub;
    maxPerUser: number;
}

/**
 * The checks every workspace socket passes before its handshake, on both
 * endpoints that take a token in the URL: the access token, an active
 * account (the deactivated users every instance keeps in memory, as for
 * every REST request), membership (from the {@link AccessCache}; 4403
 * whether or not the workspace exists), room on this instance and under the user's own cap.
 */
export async function authorizeSocket(server: Server, token: string | null, workspaceId: number, limits: SocketLimits): Promise<SocketGrant | SocketRefusal> {
    const claims = token ? verifyToken<AccessClaims>(server, token, 'access') : null;
    if (!claims) {
        return { code: CloseCode.unauthorized, reason: 'invalid or missing access token' };
    }

    const user: AuthUser = { id: Number(claims.sub), email: claims.email };
    const deactivated = () => server.app.inactiveUsers.has(user.id);
    if (deactivated()) {
        return { code: CloseCode.unauthorized, reason: 'account deactivated' };
    }

    let access;
    try {
        access = await limits.access.get(workspaceId, user.id);
    }
    catch (err) {
        const denied = Boom.isBoom(err) && err.output.statusCode === 404;
        return denied ? { code: CloseCode.forbidden, reason: 'no access to this workspace' } : { code: CloseCode.internal, reason: 'internal error' };
    }

    // Deactivated while the membership was read: the message that closes the user's sockets may have passed already.
    if (deactivated()) {
        return { code: CloseCode.unauthorized, reason: 'account deactivated' };
    }

    if (limits.admission.full()) {
        return { code: CloseCode.tryAgain, reason: 'server at capacity: reconnect later' };
    }

    if (limits.hub.connectionsOf(user.id).length >= limits.maxPerUser) {
        return { code: CloseCode.tooMany, reason: 'too many connections for this user' };
    }

    return { user, exp: claims.exp, ...access };
}
