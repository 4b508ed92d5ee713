import { Model, type QueryBuilder } from 'objection';
import type { Job as JobResource, JobStatus } from '@collab/protocol';

import { Workspace } from './workspace.js';

/** A code-execution job: the database row is the source of truth, BullMQ only carries its id. */
export class Job extends Model {
    static override tableName = 'jobs';

    id!: string;
    seq!: number;
    user_id!: number;
    workspace_id!: number | null;
    language!: string;
    code!: string;
    stdin!: string | null;
    timeout_ms!: number;
    memory_mb!: number;
    status!: JobStatus;
    attempts!: number;
    exit_code!: number | null;
    stdout!: string | null;
    stderr!: string | null;
    truncated!: boolean;
    duration_ms!: number | null;
    error!: string | null;
    idempotency_key!: string | null;
    body_hash!: string | null;
    cancel_requested_at!: string | null;
    created_at!: string;
    started_at!: string | null;
    finished_at!: string | null;

    static override modifiers = {
        /** Jobs the user submitted, or that belong to a workspace of a project the user is a member of. */
        visibleTo(query: QueryBuilder<Job>, userId: number) {
            query.where((where) => where
                .where('jobs.user_id', userId)
                .orWhereExists(Workspace.query()
                    .select(1)
                    .join('memberships', 'memberships.project_id', 'workspaces.project_id')
                    .whereColumn('workspaces.id', 'jobs.workspace_id')
                    .where('memberships.user_id', userId)));
        }
    };

    /** The job as the API shows it. */
    toApi(): JobResource {
        return jobResource(this);
    }
}

/** The columns of `jobs` that {@link jobResource} reads. */
export const JOB_RESOURCE_COLUMNS = ['id', 'status', 'language', 'workspace_id', 'attempts', 'exit_code', 'stdout', 'stderr',
    'truncated', 'duration_ms', 'created_at', 'started_at', 'finished_at', 'error'] as const;

/** A row of `jobs` with {@link JOB_RESOURCE_COLUMNS}, as the collab PostgreSQL client reads it (timestamps in ISO 8601). */
export type JobResourceRow = Pick<Job, (typeof JOB_RESOURCE_COLUMNS)[number]>;

/** A job as the API shows it (GET `/api/jobs/{job_id}/`, and a job's terminal update). */
export function jobResource(row: JobResourceRow): JobResource {
    return {
        job_id: row.id,
        status: row.status,
        language: row.language,
        workspace_id: row.workspace_id,
        attempts: row.attempts,
        exit_code: row.exit_code,
        stdout: row.stdout ?? '',
        stderr: row.stderr ?? '',
        truncated: row.truncated,
        duration_ms: row.duration_ms,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        error: row.error
    };
}
