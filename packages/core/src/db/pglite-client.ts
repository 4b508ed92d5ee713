import { createRequire } from 'node:module';

import type { Knex } from 'knex';

import { isoTimestampParser, TIMESTAMPTZ_OID } from './timestamps.js';

type Parser = (text: string) => unknown;

interface PgliteClientClass {
    new (config: Knex.Config): { config: Knex.Config; pglite: unknown };
}

let loaded: PgliteClientClass | undefined;

/**
 * knex-pglite's client as collab runs it: timestamps arrive as the ISO 8601
 * strings the API shows, as they do from {@link CollabPgClient}. Loaded on
 * first use: PGlite is large, and a process on PostgreSQL never needs it.
 */
export function collabPgliteClient(): PgliteClientClass {
    if (!loaded) {
        const require = createRequire(import.meta.url);
        const Base = require('knex-pglite') as PgliteClientClass;
        const { PGlite } = require('@electric-sql/pglite') as { PGlite: new (options: { dataDir?: string; parsers: Record<number, Parser> }) => unknown };
        const { types } = require('pg') as { types: { getTypeParser(oid: number): Parser } };
        const parsers = { [TIMESTAMPTZ_OID]: isoTimestampParser(types.getTypeParser(TIMESTAMPTZ_OID)) };
        loaded = class CollabPgliteClient extends Base {
            _driver(): void {
                const { filename } = (this.config.connection ?? {}) as { filename?: string };
                this.pglite = new PGlite({ dataDir: filename, parsers });
            }
        };
    }

    return loaded;
}
