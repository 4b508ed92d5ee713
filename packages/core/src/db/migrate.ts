import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { Knex } from 'knex';

// Compiled: dist/db/migrate.js next to dist/migrations/. From source: the repository's migrations/.
const directory = import.meta.url.endsWith('.ts')
    ? fileURLToPath(new URL('../../../../migrations/', import.meta.url))
    : fileURLToPath(new URL('../migrations/', import.meta.url));

const isMigration = (file: string) => /^\d{14}_[\w-]+\.(ts|js)$/.test(file) && !file.endsWith('.d.ts');
const nameOf = (file: string) => basename(file).replace(/\.(ts|js)$/, '');

/** Loads migrations by name (without extension), so compiled and source runs share one history. */
class MigrationSource implements Knex.MigrationSource<string> {
    getMigrations() {
        return Promise.resolve(readdirSync(directory).filter(isMigration).sort());
    }

    getMigrationName(file: string) {
        return nameOf(file);
    }

    getMigration(file: string): Promise<Knex.Migration> {
        return import(pathToFileURL(join(directory, file)).href);
    }
}

/** Where collab's migrations come from; the root `knexfile.ts` uses it too. */
export const migratorConfig = (): Knex.MigratorConfig => ({ migrationSource: new MigrationSource(), tableName: 'knex_migrations' });

/** Runs every pending migration; returns the names applied. */
export async function migrateLatest(db: Knex): Promise<string[]> {
    const [, applied] = await db.migrate.latest(migratorConfig()) as [number, string[]];
    return applied.map(nameOf);
}

/** Undoes every applied migration. */
export async function migrateRollbackAll(db: Knex): Promise<string[]> {
    const [, undone] = await db.migrate.rollback(migratorConfig(), true) as [number, string[]];
    return undone.map(nameOf);
}
