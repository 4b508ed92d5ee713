import { lstat, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { JOB_DIR_PREFIX, jobDirCreator, removeJobDir, SANDBOX_ID } from './job-dir.js';

/**
 * A job directory no worker of this pid namespace can vouch for (made in
 * another namespace, or by a version that did not tag them) is stale once
 * it is this old: no run lasts longer than its timeout (at most 60 s) plus
 * the worker's grace.
 */
export const UNTRACKED_STALE_MS = 10 * 60_000;

function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    }
    catch (error) {
        // EPERM: it exists, as another user
        return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
}

/**
 * Whether `creator` (`<pid namespace>.<pid>`, see jobDirCreator) is a process
 * of this PID namespace, other than this one, that is gone; undefined when
 * this process cannot tell (another namespace).
 */
export function creatorIsGone(creator: string): boolean | undefined {
    const tag = /^(\w+)\.(\d+)$/.exec(creator);
    const [namespace] = jobDirCreator().split('.');
    if (!tag || tag[1] !== namespace) {
        return undefined;
    }
    const pid = Number(tag[2]);
    return pid !== process.pid && !isAlive(pid);
}

/** Whether the directory `name`, last changed at `mtimeMs`, belongs to no live run. */
export function isStale(name: string, mtimeMs: number, now: number = Date.now()): boolean {
    const creator = /^(\w+\.\d+)-/.exec(name.slice(JOB_DIR_PREFIX.length))?.[1];
    return (creator === undefined ? undefined : creatorIsGone(creator)) ?? now - mtimeMs > UNTRACKED_STALE_MS;
}

/**
 * Removes the job directories that workers killed mid-run left in `dir`
 * (default os.tmpdir()): only directories named like job directories,
 * owned by this user or by the sandbox user, whose creator is gone. Returns
 * the paths removed.
 */
export async function sweepStaleJobDirs(dir: string = os.tmpdir()): Promise<string[]> {
    const owners = new Set([process.getuid?.(), process.getuid?.() === 0 ? SANDBOX_ID : undefined]);
    const removed: string[] = [];
    for (const name of await readdir(dir)) {
        if (!name.startsWith(JOB_DIR_PREFIX)) {
            continue;
        }
        const full = path.join(dir, name);
        const stats = await lstat(full).catch(() => undefined);
        if (!stats?.isDirectory() || !owners.has(stats.uid) || !isStale(name, stats.mtimeMs)) {
            continue;
        }
        await removeJobDir(full).then(
            () => removed.push(full),
            () => undefined
        );
    }
    return removed;
}
