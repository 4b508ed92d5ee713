import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import knex, { type Knex } from 'knex';

import type { Config } from '../config.js';
import { CollabPgClient } from './pg-client.js';
import { collabPgliteClient } from './pglite-client.js';

/** Options of `connect()`: a PostgreSQL URL, or an embedded database directory (`memory` for a throwaway one). */
export interface ConnectOptions {
    databaseUrl?: string;
    /** Directory of the embedded database; `'memory'` keeps it in memory. */
    embedded?: string;
    /** Connection pool size for PostgreSQL. */
    poolMax?: number;
}

/** The knex configuration for a collab database (root `knexfile.ts` uses it too). */
export function knexConfig(options: ConnectOptions): Knex.Config {
    if (options.databaseUrl) {
        return {
            client: CollabPgClient as unknown as Knex.Config['client'],
            dialect: 'postgres',
            connection: { connectionString: options.databaseUrl },
            pool: { min: 0, max: options.poolMax ?? 10 }
        };
    }

    const embedded = options.embedded ?? 'memory';
    return {
        client: collabPgliteClient() as unknown as Knex.Config['client'],
        dialect: 'postgres',
        connection: embedded === 'memory' ? {} : { filename: embedded }
    } as Knex.Config;
}

/** Opens the database the configuration names: PostgreSQL, or the embedded one under `dataDir/db`. */
export function connect(config: Pick<Config, 'databaseUrl' | 'dataDir'>, poolMax?: number): Knex {
    const embedded = join(config.dataDir, 'db');
    if (!config.databaseUrl) {
        mkdirSync(embedded, { recursive: true, mode: 0o700 });
    }

    return knex(knexConfig({ databaseUrl: config.databaseUrl, embedded, poolMax }));
}

/** True when the connection is the single-connection embedded database. */
export function isEmbedded(db: Knex): boolean {
    return !(db.client instanceof CollabPgClient);
}
