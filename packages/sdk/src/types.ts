import type { JobStatus, Role } from '@collab/protocol';

export type { EventEnvelope, Job, JobStatus, JobUpdate, OutgoingEvent, OutputStream, Role, ServerMessage } from '@collab/protocol';

/** An ISO 8601 UTC timestamp. */
export type Timestamp = string;

/** An access and a refresh token. */
export interface TokenPair {
    access: string;
    refresh: string;
}

/** The signed-in user (`auth.me`, `auth.register`). */
export interface User {
    id: number;
    email: string;
    name: string;
    is_admin: boolean;
    created_at: Timestamp;
}

/** Another user, as member lists show them. */
export interface PublicUser {
    id: number;
    email: string;
    name: string;
}

/** Body of `auth.register`. */
export interface RegisterParams {
    email: string;
    /** 8–128 characters. */
    password: string;
    name?: string;
}

/** Body of `auth.login`. */
export interface LoginParams {
    email: string;
    password: string;
}

/** `limit` (default 50, max 200) and `cursor` of every list. */
export interface ListParams {
    limit?: number;
    /** Opaque cursor, from a page's `nextCursor`. */
    cursor?: string;
}

/** A project, with the caller's role in it. */
export interface Project {
    id: number;
    name: string;
    description: string;
    created_at: Timestamp;
    updated_at: Timestamp;
    /** The creator's user id (null once that user is deleted). */
    owner: number | null;
    /** The caller's role. */
    role: Role;
}

/** Body of `projects.create` and `projects.replace`. */
export interface ProjectCreateParams {
    name: string;
    description?: string;
}

/** Body of `projects.update` (PATCH). */
export type ProjectUpdateParams = Partial<ProjectCreateParams>;

/** A member of a project. */
export interface Member {
    user: PublicUser;
    role: Role;
    added_at: Timestamp;
}

/** Body of `members.add`: a user by email or by id, and a role. */
export type MemberAddParams = ({ email: string; user_id?: never } | { user_id: number; email?: never }) & { role: Role };

/** A workspace of a project. */
export interface Workspace {
    id: number;
    /** The project's id. */
    project: number;
    name: string;
    description: string;
    created_at: Timestamp;
    updated_at: Timestamp;
}

/** Body of `workspaces.create`. */
export interface WorkspaceCreateParams {
    name: string;
    description?: string;
}

/** Body of `workspaces.update` (PATCH). */
export type WorkspaceUpdateParams = Partial<WorkspaceCreateParams>;

/** Who is connected to a workspace, across all server instances. */
export interface PresenceEntry {
    user_id: number;
    /** The user's email. */
    user: string;
    connections: number;
    since: Timestamp;
}

/** A file as the file list shows it. */
export interface FileEntry {
    path: string;
    revision: number;
    size: number;
    updated_at: Timestamp;
    /** Id of the user who wrote this revision. */
    updated_by: number | null;
}

/** A file with its content. */
export interface WorkspaceFile {
    path: string;
    content: string;
    revision: number;
    updated_at: Timestamp;
    updated_by: number | null;
}

/** Body of `files.put`. */
export interface FilePutParams {
    /** At most 1 MiB. */
    content: string;
    /** Write only if this is still the current revision (409 otherwise). */
    base_revision?: number;
}

/** Result of `files.put`. */
export interface FileWriteResult {
    path: string;
    revision: number;
}

/** Result of `events.send`: the event's place in the workspace's sequence. */
export interface SendResult {
    seq: number;
}

/** Query of `events.history`. */
export interface EventHistoryParams extends ListParams {
    /** Only events after this `seq`. */
    after?: number;
    /** The epoch `after` belongs to; a stale one is a `ConflictError` whose body holds the current `{epoch}`. */
    epoch?: string;
}

/** Body of `jobs.submit`. */
export interface JobSubmitParams {
    /** At most 64 KiB. */
    code: string;
    language: string;
    stdin?: string;
    workspace_id?: number;
    /** Wall-clock limit (default 10 s, max 60 s). */
    timeout_ms?: number;
    /** Memory limit (default 256, max 1024). */
    memory_mb?: number;
}

/** Answer of `jobs.submit` and `jobs.cancel`: the job's id and status. */
export interface JobAccepted {
    message: string;
    job_id: string;
    status: JobStatus;
}

/** Query of `jobs.list`. */
export interface JobListParams extends ListParams {
    status?: JobStatus;
    workspace_id?: number;
}

/** A chunk of a running program's output. */
export interface JobOutputChunk {
    stream: 'stdout' | 'stderr';
    data: string;
}

/** Options of `jobs.wait()`. */
export interface JobWaitOptions {
    /**
     * Live output chunks, as the program writes them. Best effort: chunks written before the
     * subscription or during a reconnect are not repeated; the resolved job has the whole output.
     */
    onOutput?: (chunk: JobOutputChunk) => void;
    /** Each new status seen (`queued`, `running`, then the terminal one). */
    onStatus?: (status: JobStatus) => void;
    /** Stops waiting (rejects with the signal's reason). */
    signal?: AbortSignal;
    /** Safety-net polling interval while live updates flow (default 5000 ms; 1 s without them). */
    pollMs?: number;
}

/** A language that live workers can run. */
export interface Language {
    language: string;
    version: string;
}

/** Options every call accepts. */
export interface RequestOptions {
    /** Aborts the request (and any retry wait). */
    signal?: AbortSignal;
    /** Extra request headers. */
    headers?: Record<string, string>;
}

/** Options of calls that create something exactly once (`jobs.submit`). */
export interface IdempotentRequestOptions extends RequestOptions {
    /** Sent as `Idempotency-Key`; generated when not given, and the same on every retry. */
    idempotencyKey?: string;
}

/** A user as administrators see them. */
export interface AdminUser {
    id: number;
    email: string;
    name: string;
    is_admin: boolean;
    is_active: boolean;
    created_at: Timestamp;
    last_login_at: Timestamp | null;
}

/** Query of `admin.users`. */
export interface AdminUserListParams extends ListParams {
    /** Case-insensitive substring of the email or name. */
    q?: string;
}

/** Body of `admin.updateUser`: at least one field. */
export interface AdminUserChanges {
    /** False deactivates: tokens refused at once, refresh tokens revoked, sockets closed, queued jobs cancelled. */
    is_active?: boolean;
    is_admin?: boolean;
}

/** A live worker, as admin stats show it. */
export interface WorkerStats {
    id: string;
    languages: string[];
    concurrency: number;
    /** Jobs it runs now. */
    running: number;
    last_seen: Timestamp;
}

/** `admin.stats()`: the whole system at a glance. */
export interface SystemStats {
    users: number;
    projects: number;
    workspaces: number;
    /** Live sockets (both transports) per server instance id. */
    sockets: Record<string, number>;
    jobs: Record<JobStatus, number>;
    workers: WorkerStats[];
}
