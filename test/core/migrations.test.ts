import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { migrateLatest, migrateRollbackAll } from '@collab/core';
import knex, { type Knex } from 'knex';

import knexfile from '../../knexfile.js';
import { createEmptyDatabase, createTestDatabase } from '../helpers/database.js';

const TABLES = ['users', 'refresh_tokens', 'projects', 'memberships', 'workspaces', 'files', 'jobs'];

async function tables(db: Knex): Promise<string[]> {
    const rows = await db('information_schema.tables').where({ table_schema: 'public' }).select('table_name');
    return rows.map((row: { table_name: string }) => row.table_name);
}

async function upDownUp(db: Knex): Promise<void> {
    const applied = await migrateLatest(db);
    assert.ok(applied.length >= TABLES.length);
    for (const table of TABLES) {
        assert.ok((await tables(db)).includes(table), `${table} exists after up`);
    }

    const undone = await migrateRollbackAll(db);
    assert.equal(undone.length, applied.length);
    const left = (await tables(db)).filter((name) => !name.startsWith('knex_migrations'));
    assert.deepEqual(left, [], 'down removes every table');

    assert.deepEqual(await migrateLatest(db), applied);
    assert.deepEqual(await migrateLatest(db), [], 'a second run applies nothing');
}

async function cascades(db: Knex): Promise<void> {
    const [user] = await db('users').insert({ email: 'c@example.com', password_hash: 'x' }).returning('id');
    const [project] = await db('projects').insert({ name: 'p', owner_id: user.id }).returning('id');
    await db('memberships').insert({ project_id: project.id, user_id: user.id, role: 'owner' });
    const [workspace] = await db('workspaces').insert({ project_id: project.id, name: 'w' }).returning('id');
    await db('files').insert({ workspace_id: workspace.id, path: 'a.txt', content: 'hi', size: 2, updated_by: user.id });

    await db('projects').where({ id: project.id }).delete();
    for (const table of ['memberships', 'workspaces', 'files']) {
        assert.equal(Number((await db(table).count({ n: '*' }))[0]!.n), 0, `${table} rows go with the project`);
    }

    await assert.rejects(db('memberships').insert({ project_id: project.id, user_id: user.id, role: 'owner' }),
        { code: '23503', constraint: 'memberships_project_id_foreign' }, 'foreign keys hold');
    const [other] = await db('projects').insert({ name: 'q', owner_id: user.id }).returning('id');
    await assert.rejects(db('memberships').insert({ project_id: other.id, user_id: user.id, role: 'admin' }),
        { code: '23514', constraint: 'memberships_role_check' }, 'roles are checked');
}

for (const embedded of [false, true]) {
    describe(`migrations on ${embedded ? 'PGlite' : 'PostgreSQL'}`, () => {
        it('run up, down and up again', async () => {
            const database = await createTestDatabase({ migrate: false, embedded });
            try {
                await upDownUp(database.db);
            }
            finally {
                await database.drop();
            }
        });

        it('cascade a project\'s deletion to its workspaces, files and members', async () => {
            const database = await createTestDatabase({ embedded });
            try {
                await cascades(database.db);
            }
            finally {
                await database.drop();
            }
        });
    });
}

describe('knexfile.ts', () => {
    it('migrates a PostgreSQL database with its test configuration', async () => {
        const empty = await createEmptyDatabase();
        const db = knex({ ...knexfile.test, connection: empty.url });
        try {
            const [, applied] = await db.migrate.latest(knexfile.test!.migrations);
            assert.ok(applied.length >= TABLES.length);
            assert.ok((await tables(db)).includes('projects'));
        }
        finally {
            await db.destroy();
            await empty.drop();
        }
    });

    it('points development at the embedded database unless DATABASE_URL is set', () => {
        assert.equal(knexfile.development!.client === 'pg', Boolean(process.env.DATABASE_URL));
    });
});
