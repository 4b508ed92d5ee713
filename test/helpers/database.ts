import { randomBytes } from 'node:crypto';

import { knexConfig, migrateLatest } from '@collab/core';
import knex, { type Knex } from 'knex';

/** The PostgreSQL server tests use; each test file gets a database of its own on it. */
export const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** True when the suite runs on the embedded database (`COLLAB_TEST_DB=pglite`). */
export const onPglite = process.env.COLLAB_TEST_DB === 'pglite';

export interface TestDatabase {
    db: Knex;
    /** The database's URL (undefined on the embedded database). */
    url?: string;
    drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
    const parsed = new URL(url);
    parsed.pathname = `/${name}`;
    return parsed.toString();
}

/** Creates an empty PostgreSQL database and returns its URL, with a function that drops it. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
    const name = `collab_t_${randomBytes(6).toString('hex')}`;
    const admin = knex({ client: 'pg', connection: ADMIN_URL, pool: { min: 0, max: 1 } });
    await admin.raw('CREATE DATABASE ??', [name]);
    return {
        url: withDatabase(ADMIN_URL, name),
        drop: async () => {
            await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
            await admin.destroy();
        }
    };
}

/** A fresh, migrated database: PostgreSQL by default, in-memory PGlite with `COLLAB_TEST_DB=pglite`. */
export async function createTestDatabase(options: { migrate?: boolean; embedded?: boolean } = {}): Promise<TestDatabase> {
    const embedded = options.embedded ?? onPglite;
    let result: TestDatabase;
    if (embedded) {
        const db = knex(knexConfig({ embedded: 'memory' }));
        result = { db, drop: () => db.destroy() };
    }
    else {
        const empty = await createEmptyDatabase();
        const db = knex(knexConfig({ databaseUrl: empty.url, poolMax: 10 }));
        result = {
            db,
            url: empty.url,
            drop: async () => {
                await db.destroy();
                await empty.drop();
            }
        };
    }

    if (options.migrate !== false) {
        await migrateLatest(result.db);
    }

    return result;
}
