import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createRequire } from 'node:module';

import { isEmbedded, knexConfig } from '@collab/core';
import knex, { type Knex } from 'knex';

import { isoTimestampParser } from '../../packages/core/src/db/timestamps.js';

import { createEmptyDatabase, onPglite } from '../helpers/database.js';

// pg's own timestamptz parser, the reference the fast path must agree with.
const parseAsDate = (createRequire(import.meta.url)('pg') as { types: { getTypeParser(oid: number): (text: string) => Date } }).types.getTypeParser(1184);

describe('isoTimestampParser()', () => {
    const parse = isoTimestampParser(parseAsDate);

    it('gives what Date#toISOString() gives for every form PostgreSQL prints', () => {
        for (const text of [
            '2026-11-26 15:01:26+00',
            '2026-11-26 15:01:26.2+00',
            '2026-11-26 15:01:26.288+00',
            '2026-11-26 15:01:26.288999+00',
            '1999-12-31 23:59:59.999999+00',
            '2026-11-26 15:01:26.288123+05:30',
            '2026-11-26 15:01:26-03',
            '0044-03-15 12:00:00+00 BC'
        ]) {
            assert.equal(parse(text), parseAsDate(text).toISOString(), text);
        }
    });

    it('keeps infinity readable rather than throwing', () => {
        assert.equal(parse('infinity'), 'Infinity');
    });
});

// The statement cache and the timestamp parser belong to the PostgreSQL client: the embedded database has neither.
describe('the PostgreSQL client', { skip: onPglite && 'PostgreSQL only: the PostgreSQL pass runs it' }, () => {
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

    it('returns timestamps as ISO 8601 strings, in UTC, whatever the session time zone', async () => {
        const instant = '2026-11-26T15:01:26.288Z';
        await db.transaction(async (trx) => {
            await trx.raw("set local time zone 'Asia/Kolkata'");
            const { rows } = await trx.raw('select ?::timestamptz as at', [instant]);
            assert.equal(rows[0].at, instant);
        });
        const { rows } = await db.raw('select ?::timestamptz as at', [instant]);
        assert.equal(rows[0].at, instant);
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

describe('the embedded client', () => {
    let db: Knex;

    before(() => {
        db = knex(knexConfig({ embedded: 'memory' }));
    });

    after(() => db.destroy());

    it('is the embedded client', () => {
        assert.equal(isEmbedded(db), true);
    });

    it('returns timestamps as ISO 8601 strings too, in arrays as well, whatever the session time zone', async () => {
        const instant = '2026-11-26T15:01:26.288Z';
        await db.transaction(async (trx) => {
            await trx.raw("set local time zone 'Asia/Kolkata'");
            const { rows } = await trx.raw('select ?::timestamptz as at, array[?::timestamptz] as ats', [instant, instant]);
            assert.deepEqual(rows[0], { at: instant, ats: [instant] });
        });
        const { rows } = await db.raw('select ?::timestamptz as at, null::timestamptz as never', [instant]);
        assert.deepEqual(rows[0], { at: instant, never: null });
    });
});
