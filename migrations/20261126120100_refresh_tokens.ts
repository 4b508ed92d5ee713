import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
    await knex.schema.createTable('refresh_tokens', (t) => {
        t.string('id', 64).primary();
        t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
        t.string('family_id', 64).notNullable().index();
        t.string('token_hash', 64).notNullable();
        t.timestamp('expires_at', { useTz: true }).notNullable();
        t.timestamp('used_at', { useTz: true });
        t.timestamp('revoked_at', { useTz: true });
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.index(['user_id']);
    });
}

export async function down(knex: Knex): Promise<void> {
    await knex.schema.dropTable('refresh_tokens');
}
