import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
    await knex.schema.createTable('memberships', (t) => {
        t.integer('project_id').notNullable().references('projects.id').onDelete('CASCADE');
        t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
        t.string('role', 16).notNullable().checkIn(['owner', 'collaborator', 'viewer'], 'memberships_role_check');
        t.timestamp('added_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        t.primary(['project_id', 'user_id']);
        t.index(['user_id', 'project_id']);
    });
}

export async function down(knex: Knex): Promise<void> {
    await knex.schema.dropTable('memberships');
}
