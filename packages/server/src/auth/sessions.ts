import { randomUUID } from 'node:crypto';

import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import { RefreshToken, User } from '@collab/core';
import type { Knex } from 'knex';

import { signAccess, signRefresh, tokenHash, verifyToken, type RefreshClaims } from './tokens.js';

/** An access and a refresh token, as login and refresh return them. */
export interface TokenPair {
    access: string;
    refresh: string;
}

const DEAD = 'Invalid or expired refresh token';

async function issue(server: Server, trx: Knex.Transaction, user: User, family: string): Promise<TokenPair> {
    const { token, id } = signRefresh(server, user.id, family);
    const expires = new Date(Date.now() + server.app.config.refreshTokenTtl * 1000).toISOString();
    await RefreshToken.query(trx).insert({ id, user_id: user.id, family_id: family, token_hash: tokenHash(token), expires_at: expires });
    return { access: signAccess(server, user), refresh: token };
}

/** Starts a new token family for a user who just proved their password. */
export function startSession(server: Server, user: User): Promise<TokenPair> {
    return server.app.db.transaction((trx) => issue(server, trx, user, randomUUID()));
}

async function liveToken(server: Server, trx: Knex.Transaction, token: string): Promise<{ row: RefreshToken; claims: RefreshClaims }> {
    const claims = verifyToken<RefreshClaims>(server, token, 'refresh');
    const row = claims && await RefreshToken.query(trx).findById(claims.jti).forUpdate();
    if (!claims || !row || row.token_hash !== tokenHash(token)) {
        throw Boom.unauthorized(DEAD);
    }

    return { row, claims };
}

/** Revokes every token of a family (reuse detected, or logout). */
export async function revokeFamily(db: Knex, family: string): Promise<void> {
    await RefreshToken.query(db).patch({ revoked_at: new Date().toISOString() }).where({ family_id: family }).whereNull('revoked_at');
}

/**
 * Rotates a refresh token: the presented one dies, a new one of the same family is issued.
 * Presenting a token that was already rotated is reuse: the whole family is revoked.
 */
export async function rotate(server: Server, token: string): Promise<TokenPair> {
    const db = server.app.db;
    const outcome = await db.transaction(async (trx) => {
        const { row } = await liveToken(server, trx, token);
        if (row.used_at || row.revoked_at) {
            return { reused: row.family_id };
        }

        const user = await User.query(trx).findById(row.user_id);
        if (!user?.is_active) {
            throw Boom.unauthorized(DEAD);
        }

        await RefreshToken.query(trx).patch({ used_at: new Date().toISOString() }).where({ id: row.id });
        return { pair: await issue(server, trx, user, row.family_id) };
    });

    if ('reused' in outcome) {
        await revokeFamily(db, outcome.reused!);
        server.app.logger.warn({ family: outcome.reused }, 'refresh token reuse: family revoked');
        throw Boom.unauthorized(DEAD);
    }

    return outcome.pair!;
}

/** Ends a session: the token's whole family is revoked. */
export async function endSession(server: Server, token: string): Promise<void> {
    const family = await server.app.db.transaction(async (trx) => {
        const { row } = await liveToken(server, trx, token);
        if (row.used_at || row.revoked_at) {
            throw Boom.unauthorized(DEAD);
        }

        return row.family_id;
    });

    await revokeFamily(server.app.db, family);
}
