import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { isEmbedded, knexConfig } from '@collab/core';
import knex, { type Knex } from 'knex';

import { createEmptyDatabase, onPglite } from '../helpers/database.js';

// The statement cache belongs to the PostgreSQL client: the embedded database has none to test.
describe('the PostgreSQL client prepares statements', { skip: onPglite && 'PostgreSQL only: the PostgreSQL pass runs it' }, () => {
    let database: Awaited<ReturnType<typeof createEmptyDatabase>>;
    let db: Knex;

    /** The prepared statements of the pool's one connection, with the backend's pid. */
    async function prepared(): Promise<{ pid: number; statements: string[] }> {
        const { rows } = await db.raw('select pg_backend_pid() as pid, array(select statement from pg_prepared_statements order by statement) as statements');
        return rows[0];
    }

    before(async () => {
        database = await createEmptyDatabase();
        db = knex(knexConfig({ databaseUrl: database.url, poolMax: 1 }));
        await db.schema.createTable('notes', (t) => {
            t.increments('id');
            t.text('body');
        });
    });

    after(async () => {
        await db.destroy();
        await database.drop();
    });

    it('is not the embedded client', () => {
        assert.equal(isEmbedded(db), false);
    });

    it('parses a repeated query once per connection, and never prepares schema changes', async () => {
        await db('notes').insert({ body: 'one' });
        for (let i = 0; i < 3; ++i) {
            assert.deepEqual(await db('notes').select('body').where('id', 1), [{ body: 'one' }]);
        }

        const { statements } = await prepared();
        assert.deepEqual(statements.filter((s) => s.includes('"notes"')), [
            'insert into "notes" ("body") values ($1)',
            'select "body" from "notes" where "id" = $1'
        ]);
        assert.ok(!statements.some((s) => /create table/i.test(s)));
    });

    it('answers a prepared select * after a migration adds a column, on a fresh connection', async () => {
        assert.deepEqual(await db('notes').select('*').where('id', 1), [{ id: 1, body: 'one' }]);
        const { pid } = await prepared();
        await db.schema.alterTable('notes', (t) => {
            t.text('title').defaultTo('untitled');
        });

        assert.deepEqual(await db('notes').select('*').where('id', 1), [{ id: 1, body: 'one', title: 'untitled' }]);
        assert.notEqual((await prepared()).pid, pid, 'the connection holding the stale plan was retired');
    });

    it('fails a transaction that meets a stale plan without writing anything, then recovers', async () => {
        assert.equal((await db('notes').select('*')).length, 1);
        await db.schema.alterTable('notes', (t) => {
            t.integer('stars').defaultTo(0);
        });

        await assert.rejects(db.transaction(async (trx) => {
            await trx('notes').insert({ body: 'two' });
            await trx('notes').select('*');
        }), /cached plan must not change result type/);

        assert.deepEqual(await db('notes').select('*'), [{ id: 1, body: 'one', title: 'untitled', stars: 0 }]);
    });
});
