import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
    await knex.schema.createTable('doc_snapshots', (t) => {
        t.integer('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
        t.string('path', 255).notNullable();
        t.binary('state').notNullable();
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.primary(['workspace_id', 'path']);
    });
    await knex.schema.createTable('doc_updates', (t) => {
        t.bigIncrements('id').primary();
        t.integer('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
        t.string('path', 255).notNullable();
        t.binary('data').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.index(['workspace_id', 'path', 'id']);
    });
}

export async function down(knex: Knex): Promise<void> {
    await knex.schema.dropTable('doc_updates');
    await knex.schema.dropTable('doc_snapshots');
}
