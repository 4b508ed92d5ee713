import { User } from '@collab/core';
import type { Knex } from 'knex';

/** True when the user exists and is active (deactivated accounts get no socket, whatever their token says). */
export async function activeUser(db: Knex, userId: number): Promise<boolean> {
    const row: unknown = await db(User.tableName).first('id').where({ id: userId, is_active: true });
    return row !== undefined;
}
