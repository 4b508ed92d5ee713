// knex configurations by environment, for the knex CLI and scripts
// (`npx tsx node_modules/knex/bin/cli.js --knexfile knexfile.ts migrate:latest --env test`).
// collab itself migrates with `collab-server migrate` and `npm start`, from the same migration source.
import { knexConfig, migratorConfig } from '@collab/core';
import type { Knex } from 'knex';

const migrations = migratorConfig();

const config: Record<string, Knex.Config> = {
    /** The embedded database `npm start` uses, unless DATABASE_URL names a server. */
    development: { ...knexConfig({ databaseUrl: process.env.DATABASE_URL, embedded: '.collab/db' }), migrations },
    /** The PostgreSQL server the tests use. */
    test: { ...knexConfig({ databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' }), migrations }
};

if (process.env.DATABASE_URL) {
    /** A PostgreSQL server named by DATABASE_URL (required in production). */
    config.production = { ...knexConfig({ databaseUrl: process.env.DATABASE_URL }), migrations };
}

export default config;
