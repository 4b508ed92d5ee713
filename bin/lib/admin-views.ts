import type { AdminUser, SystemStats } from '@collab/sdk';

import { record, table, text, type Output } from './output.js';

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

/** Users as administrators see them. */
export const adminUserTable = (rows: AdminUser[]): Output => table(rows, [
    { header: 'ID', value: (u) => u.id },
    { header: 'EMAIL', value: (u) => u.email },
    { header: 'NAME', value: (u) => u.name },
    { header: 'ADMIN', value: (u) => yesNo(u.is_admin) },
    { header: 'ACTIVE', value: (u) => yesNo(u.is_active) },
    { header: 'LAST_LOGIN', value: (u) => u.last_login_at }
], 'No users.');

/** One user as administrators see them. */
export const adminUserRecord = (u: AdminUser): Output => record(u, [
    ['Id', (x) => x.id],
    ['Email', (x) => x.email],
    ['Name', (x) => x.name],
    ['Admin', (x) => yesNo(x.is_admin)],
    ['Active', (x) => yesNo(x.is_active)],
    ['Created', (x) => x.created_at],
    ['Last login', (x) => x.last_login_at]
]);

function ago(iso: string, now: number): string {
    const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
    return seconds < 120 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
}

function columns(rows: string[][]): string[] {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    return rows.map((row) => `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`);
}

/** The system at a glance: counts, sockets per instance, jobs by status, live workers. */
export function statsView(stats: SystemStats, now = Date.now()): Output {
    const sockets = Object.entries(stats.sockets).sort(([a], [b]) => a.localeCompare(b));
    const total = sockets.reduce((sum, [, n]) => sum + n, 0);
    const lines = [
        `Users:       ${stats.users}`,
        `Projects:    ${stats.projects}`,
        `Workspaces:  ${stats.workspaces}`,
        '',
        `Sockets: ${total} on ${sockets.length} instance${sockets.length === 1 ? '' : 's'}`,
        ...(sockets.length ? columns(sockets.map(([id, n]) => [id, String(n)])) : []),
        '',
        'Jobs:',
        ...columns(Object.entries(stats.jobs).map(([status, n]) => [status, String(n)])),
        '',
        `Workers: ${stats.workers.length}`,
        ...(stats.workers.length
            ? columns([['ID', 'LANGUAGES', 'CONCURRENCY', 'RUNNING', 'LAST_SEEN'], ...stats.workers.map((w) => [w.id, w.languages.join(',') || '-', String(w.concurrency), String(w.running), ago(w.last_seen, now)])])
            : ['  No worker is running: jobs stay queued.'])
    ];
    return text(stats, `${lines.join('\n')}\n`);
}
