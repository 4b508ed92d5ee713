import { createRequire } from 'node:module';

import type { Knex } from 'knex';

import { isoTimestampParser, TIMESTAMPTZ_OID } from './timestamps.js';

/** How many distinct statements one process prepares; any beyond run unprepared. */
export const MAX_PREPARED_STATEMENTS = 500;

interface QueryObject {
    sql: string;
    options?: Record<string, unknown>;
}

interface PgConnection {
    /** Set by knex while the connection runs a transaction. */
    __knexTxId?: string;
    /** Set to make knex's pool destroy the connection instead of reusing it. */
    __knex__disposed?: unknown;
}

type TypeParser = (text: string) => unknown;

interface PgTypes {
    getTypeParser(oid: number, format?: string): TypeParser;
}

interface PgClientClass {
    new (config: Knex.Config): {
        driver: { types: PgTypes };
        connectionSettings: Record<string, unknown>;
        _query(connection: PgConnection, obj: QueryObject): Promise<unknown>;
    };
}

// knex publishes no types for its dialect classes.
const ClientPg = createRequire(import.meta.url)('knex/lib/dialects/postgres/index.js') as PgClientClass;

const DATA_STATEMENT = /^\s*(select|insert|update|delete|with)\b/i;

// One name per statement text for the whole process: knex's transaction clients are bare copies of a client, without its fields.
const names = new Map<string, string>();

function statementName(sql: string): string | undefined {
    let name = names.get(sql);
    if (!name && names.size < MAX_PREPARED_STATEMENTS && DATA_STATEMENT.test(sql)) {
        name = `collab_${names.size}`;
        names.set(sql, name);
    }

    return name;
}

/** PostgreSQL refusing a prepared plan whose result columns changed (a migration altered a table it reads). */
function isStalePlan(error: unknown): boolean {
    const { code, routine } = error as { code?: string; routine?: string };
    return code === '0A000' && routine === 'RevalidateCachedQuery';
}

/**
 * knex's PostgreSQL client as collab runs it.
 *
 * - A statement cache, as asyncpg and postgres.js keep one: each distinct
 *   data statement runs as a named prepared statement, parsed and planned
 *   once per connection instead of on every run. When a migration changes
 *   the columns a prepared `select *` returns, PostgreSQL refuses the stale
 *   plan: the connection is then retired from the pool (with every statement
 *   it prepared), and the query runs again unprepared, unless it is part of
 *   a transaction, which the error aborted.
 * - Timestamps arrive as the ISO 8601 strings the API shows, parsed once
 *   from PostgreSQL's text rather than through a Date.
 *
 * `connection` must be an object (`{ connectionString }`).
 */
export class CollabPgClient extends ClientPg {
    constructor(config: Knex.Config) {
        super(config);
        const base = this.driver.types;
        const timestamp = isoTimestampParser(base.getTypeParser(TIMESTAMPTZ_OID));
        const types: PgTypes = { getTypeParser: (oid, format) => (oid === TIMESTAMPTZ_OID ? timestamp : base.getTypeParser(oid, format)) };
        this.connectionSettings = { ...this.connectionSettings, types };
    }

    override async _query(connection: PgConnection, obj: QueryObject): Promise<unknown> {
        const name = statementName(obj.sql);
        if (!name) {
            return super._query(connection, obj);
        }

        const options = obj.options;
        obj.options = { ...options, name };
        try {
            return await super._query(connection, obj);
        }
        catch (error) {
            if (!isStalePlan(error)) {
                throw error;
            }

            connection.__knex__disposed = error;
            if (connection.__knexTxId) {
                throw error;
            }

            obj.options = options;
            return super._query(connection, obj);
        }
    }
}
