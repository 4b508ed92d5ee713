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
        return {
            job_id: this.id,
            status: this.status,
            language: this.language,
            workspace_id: this.workspace_id,
            attempts: this.attempts,
            exit_code: this.exit_code,
            stdout: this.stdout ?? '',
            stderr: this.stderr ?? '',
            truncated: this.truncated,
            duration_ms: this.duration_ms,
            created_at: this.created_at,
            started_at: this.started_at,
            finished_at: this.finished_at,
            error: this.error
        };
    }
}
