import { createHash, randomUUID } from 'node:crypto';

import Jwt from '@hapi/jwt';
import type { Server } from '@hapi/hapi';

import type { AuthUser } from '../context.js';

/** Claims of an access token (DESIGN §4). */
export interface AccessClaims {
    sub: string;
    email: string;
    typ: 'access';
    iat: number;
    exp: number;
}

/** Claims of a refresh token: never accepted where an access token is expected. */
export interface RefreshClaims {
    sub: string;
    typ: 'refresh';
    jti: string;
    fam: string;
    iat: number;
    exp: number;
}

/** The only algorithm collab signs or accepts. */
export const ALGORITHM = 'HS256';

/** Signs an access token for a user. */
export function signAccess(server: Server, user: AuthUser): string {
    const { jwtSecret, accessTokenTtl } = server.app.config;
    return Jwt.token.generate({ sub: String(user.id), email: user.email, typ: 'access' },
        { key: jwtSecret, algorithm: ALGORITHM }, { ttlSec: accessTokenTtl });
}

/** Signs a refresh token; `family` groups the rotations of one login. */
export function signRefresh(server: Server, userId: number, family: string): { token: string; id: string } {
    const { jwtSecret, refreshTokenTtl } = server.app.config;
    const id = randomUUID();
    const token = Jwt.token.generate({ sub: String(userId), typ: 'refresh', jti: id, fam: family },
        { key: jwtSecret, algorithm: ALGORITHM }, { ttlSec: refreshTokenTtl });
    return { token, id };
}

/** Verifies a token's algorithm, signature and lifetime; returns its claims when of type `typ`, else null. */
export function verifyToken<T extends AccessClaims | RefreshClaims>(server: Server, token: string, typ: T['typ']): T | null {
    try {
        const artifacts = Jwt.token.decode(token);
        if (artifacts.decoded.header.alg !== ALGORITHM) {
            return null;
        }

        Jwt.token.verify(artifacts, { key: server.app.config.jwtSecret, algorithm: ALGORITHM });
        const claims = artifacts.decoded.payload as T;
        return claims.typ === typ ? claims : null;
    }
    catch {
        return null;
    }
}

/** The stored fingerprint of a token (never the token itself). */
export function tokenHash(token: string): string {
    return createHash('sha256').update(token).digest('hex');
}
