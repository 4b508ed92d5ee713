import Jwt from '@hapi/jwt';
import type { Plugin, Request } from '@hapi/hapi';

import { InactiveUsers } from '../auth/inactive-users.js';
import { ALGORITHM, type AccessClaims } from '../auth/tokens.js';
import type { AuthUser } from '../context.js';

declare module '@hapi/hapi' {
    interface ServerApplicationState {
        /** Deactivated users: their tokens are refused everywhere. */
        inactiveUsers: InactiveUsers;
    }
}

/** The caller of an authenticated request. */
export function caller(request: Request): AuthUser {
    return request.auth.credentials.user as AuthUser;
}

/** The `jwt` strategy, default for every route: HS256 access tokens of active users only. */
export const authPlugin: Plugin<void> = {
    name: 'collab-auth',
    version: '1.0.0',
    register: async (server) => {
        const inactive = new InactiveUsers(server);
        server.app.inactiveUsers = inactive;
        server.ext('onPreStart', () => inactive.start());
        server.ext('onPostStop', () => inactive.stop());

        await server.register(Jwt);
        server.auth.strategy('jwt', 'jwt', {
            keys: { key: server.app.config.jwtSecret, algorithms: [ALGORITHM] },
            verify: { aud: false, iss: false, sub: false, nbf: true, exp: true, timeSkewSec: 0 },
            validate: (artifacts: { decoded: { payload: Partial<AccessClaims> } }) => {
                const { sub, email, typ } = artifacts.decoded.payload;
                const id = Number(sub);
                if (typ !== 'access' || !Number.isSafeInteger(id) || typeof email !== 'string' || inactive.has(id)) {
                    return { isValid: false };
                }

                return { isValid: true, credentials: { user: { id, email } } };
            }
        });
        server.auth.default('jwt');
    }
};
