import type { Knex } from 'knex';

// A submit in one round trip: the user's row locked, the idempotency key looked up, the quota counted
// and the job inserted by one function call. Each statement of a PL/pgSQL function takes a fresh
// snapshot, so the count that follows the lock sees every job committed by the lock's previous holder
// (a single statement with CTEs would count from its snapshot taken before the lock was granted).
export async function up(knex: Knex): Promise<void> {
    await knex.raw(`
        CREATE FUNCTION submit_job(
            new_id text, owner integer, new_workspace_id integer, new_language text, new_code text, new_stdin text,
            new_timeout_ms integer, new_memory_mb integer, key text, hash text, quota integer)
        RETURNS TABLE (outcome text, job_id text, job_status text, job_workspace_id integer, job_body_hash text, soonest_end_s float8)
        LANGUAGE plpgsql AS $$
        DECLARE
            existing record;
            active integer;
            soonest float8;
        BEGIN
            PERFORM 1 FROM users WHERE id = owner FOR UPDATE;
            IF key IS NOT NULL THEN
                SELECT j.id, j.status, j.workspace_id, j.body_hash, j.created_at < now() - interval '24 hours' AS expired INTO existing
                FROM jobs j WHERE j.user_id = owner AND j.idempotency_key = key;
                IF FOUND AND existing.expired THEN
                    UPDATE jobs SET idempotency_key = NULL WHERE id = existing.id;
                ELSIF FOUND THEN
                    RETURN QUERY SELECT 'existing', existing.id::text, existing.status::text, existing.workspace_id, existing.body_hash::text, NULL::float8;
                    RETURN;
                END IF;
            END IF;

            SELECT count(*)::int,
                   extract(epoch FROM min(j.started_at + j.timeout_ms * interval '1 millisecond') FILTER (WHERE j.status = 'running') - now())::float8
            INTO active, soonest
            FROM jobs j WHERE j.user_id = owner AND j.status IN ('queued', 'running');
            IF active >= quota THEN
                RETURN QUERY SELECT 'refused', NULL::text, NULL::text, NULL::integer, NULL::text, soonest;
                RETURN;
            END IF;

            INSERT INTO jobs (id, user_id, workspace_id, language, code, stdin, timeout_ms, memory_mb, idempotency_key, body_hash)
            VALUES (new_id, owner, new_workspace_id, new_language, new_code, new_stdin, new_timeout_ms, new_memory_mb, key, hash);
            RETURN QUERY SELECT 'created', new_id, 'queued'::text, new_workspace_id, hash, NULL::float8;
        END
        $$`);
}

export async function down(knex: Knex): Promise<void> {
    await knex.raw('DROP FUNCTION submit_job(text, integer, integer, text, text, text, integer, integer, text, text, integer)');
}
