import type { Knex } from 'knex';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'error'];

export async function up(knex: Knex): Promise<void> {
    await knex.schema.createTable('jobs', (t) => {
        t.string('id', 40).primary();
        // Insertion order for "newest first" keyset pagination; job ids are random.
        t.specificType('seq', 'serial').notNullable().unique();
        t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
        // A job outlives its workspace: the submitter keeps its result.
        t.integer('workspace_id').references('workspaces.id').onDelete('SET NULL').index();
        t.string('language', 32).notNullable();
        t.text('code').notNullable();
        t.text('stdin');
        t.integer('timeout_ms').notNullable();
        t.integer('memory_mb').notNullable();
        t.string('status', 16).notNullable().defaultTo('queued').checkIn(STATUSES, 'jobs_status_check');
        t.integer('attempts').notNullable().defaultTo(0);
        t.integer('exit_code');
        t.text('stdout');
        t.text('stderr');
        t.boolean('truncated').notNullable().defaultTo(false);
        t.integer('duration_ms');
        t.text('error');
        t.string('idempotency_key', 255);
        t.string('body_hash', 64);
        t.timestamp('cancel_requested_at', { useTz: true });
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('started_at', { useTz: true });
        t.timestamp('finished_at', { useTz: true });
        t.unique(['user_id', 'idempotency_key'], { indexName: 'jobs_user_idempotency_key_unique' });
        t.index(['user_id', 'seq'], 'jobs_user_seq_index');
        t.index(['status', 'created_at'], 'jobs_status_created_index');
    });
}

export async function down(knex: Knex): Promise<void> {
    await knex.schema.dropTable('jobs');
}
