import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
    await knex.schema.createTable('files', (t) => {
        t.integer('workspace_id').notNullable().references('workspaces.id').onDelete('CASCADE');
        t.string('path', 255).notNullable();
        t.text('content').notNullable();
        t.integer('revision').notNullable().defaultTo(1);
        t.integer('size').notNullable();
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.integer('updated_by').references('users.id').onDelete('SET NULL');
        t.primary(['workspace_id', 'path']);
    });
}

export async function down(knex: Knex): Promise<void> {
    await knex.schema.dropTable('files');
}
