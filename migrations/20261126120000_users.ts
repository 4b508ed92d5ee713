import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
    await knex.schema.createTable('users', (t) => {
        t.increments('id');
        t.string('email', 254).notNullable().unique();
        t.string('name', 150).notNullable().defaultTo('');
        t.string('password_hash', 255).notNullable();
        t.boolean('is_admin').notNullable().defaultTo(false);
        t.boolean('is_active').notNullable().defaultTo(true);
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.timestamp('last_login_at', { useTz: true });
    });
}

export async function down(knex: Knex): Promise<void> {
    await knex.schema.dropTable('users');
}
