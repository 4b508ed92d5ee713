import { connect, migrateLatest, type Config } from '@collab/core';

/** `collab-server migrate`: applies pending migrations. */
export async function migrate(config: Config): Promise<void> {
    const db = connect(config);
    try {
        const applied = await migrateLatest(db);
        process.stdout.write(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'Database is up to date\n');
    }
    finally {
        await db.destroy();
    }
}
