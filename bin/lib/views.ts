import type { EventEnvelope, FileEntry, Job, Language, Member, Project, Workspace } from '@collab/sdk';

import { record, table, type Output } from './output.js';

/** A project for people. */
export const projectRecord = (p: Project): Output => record(p, [
    ['Id', (x) => x.id],
    ['Name', (x) => x.name],
    ['Description', (x) => x.description],
    ['Your role', (x) => x.role],
    ['Owner', (x) => x.owner],
    ['Created', (x) => x.created_at],
    ['Updated', (x) => x.updated_at]
]);

/** Projects for people. */
export const projectTable = (rows: Project[]): Output => table(rows, [
    { header: 'ID', value: (p) => p.id },
    { header: 'NAME', value: (p) => p.name },
    { header: 'ROLE', value: (p) => p.role },
    { header: 'UPDATED', value: (p) => p.updated_at }
], 'No projects.');

/** A workspace for people. */
export const workspaceRecord = (w: Workspace): Output => record(w, [
    ['Id', (x) => x.id],
    ['Project', (x) => x.project],
    ['Name', (x) => x.name],
    ['Description', (x) => x.description],
    ['Created', (x) => x.created_at],
    ['Updated', (x) => x.updated_at]
]);

/** Workspaces for people. */
export const workspaceTable = (rows: Workspace[]): Output => table(rows, [
    { header: 'ID', value: (w) => w.id },
    { header: 'NAME', value: (w) => w.name },
    { header: 'DESCRIPTION', value: (w) => w.description },
    { header: 'UPDATED', value: (w) => w.updated_at }
], 'No workspaces.');

/** Members for people. */
export const memberTable = (rows: Member[]): Output => table(rows, [
    { header: 'USER_ID', value: (m) => m.user.id },
    { header: 'EMAIL', value: (m) => m.user.email },
    { header: 'NAME', value: (m) => m.user.name },
    { header: 'ROLE', value: (m) => m.role },
    { header: 'ADDED', value: (m) => m.added_at }
], 'No members.');

/** Files for people. */
export const fileTable = (rows: FileEntry[]): Output => table(rows, [
    { header: 'PATH', value: (f) => f.path },
    { header: 'REVISION', value: (f) => f.revision },
    { header: 'SIZE', value: (f) => f.size },
    { header: 'UPDATED', value: (f) => f.updated_at },
    { header: 'BY', value: (f) => f.updated_by }
], 'No files.');

/** A job for people, with its output. */
export const jobRecord = (j: Job): Output => record(j, [
    ['Job', (x) => x.job_id],
    ['Status', (x) => x.status],
    ['Language', (x) => x.language],
    ['Workspace', (x) => x.workspace_id],
    ['Attempts', (x) => x.attempts],
    ['Exit code', (x) => x.exit_code],
    ['Duration (ms)', (x) => x.duration_ms],
    ['Created', (x) => x.created_at],
    ['Started', (x) => x.started_at],
    ['Finished', (x) => x.finished_at],
    ['Error', (x) => x.error],
    ['Stdout', (x) => (x.stdout ? `${x.stdout}\n` : '')],
    ['Stderr', (x) => (x.stderr ? `${x.stderr}\n` : '')],
    ['Truncated', (x) => (x.truncated ? 'yes' : 'no')]
]);

/** Jobs for people. */
export const jobTable = (rows: Job[]): Output => table(rows, [
    { header: 'JOB', value: (j) => j.job_id },
    { header: 'STATUS', value: (j) => j.status },
    { header: 'LANGUAGE', value: (j) => j.language },
    { header: 'WORKSPACE', value: (j) => j.workspace_id },
    { header: 'EXIT', value: (j) => j.exit_code },
    { header: 'CREATED', value: (j) => j.created_at }
], 'No jobs.');

/** Languages for people. */
export const languageTable = (rows: Language[]): Output => table(rows, [
    { header: 'LANGUAGE', value: (l) => l.language },
    { header: 'VERSION', value: (l) => l.version }
], 'No language is available: no worker is running.');

/** One event of `ws tail`: `#seq event user payload` (`#-` for presence, which has no seq). */
export function eventLine(event: EventEnvelope): string {
    return `#${event.seq ?? '-'} ${event.event} ${event.user ?? '-'} ${JSON.stringify(event.payload ?? null)}`;
}
