import type { Knex } from 'knex';

// The per-user quota counts a user's queued and running jobs on every submit: only those rows are indexed.
export async function up(knex: Knex): Promise<void> {
    await knex.raw('CREATE INDEX jobs_active_user_index ON jobs (user_id) WHERE status IN (\'queued\', \'running\')');
}

export async function down(knex: Knex): Promise<void> {
    await knex.raw('DROP INDEX jobs_active_user_index');
}
