import { constants, readlinkSync } from 'node:fs';
import { chmod, lstat, lchown, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { SandboxStartError } from './errors.js';

/** The uid and gid programs run as (nobody), unless the worker is not root. */
export const SANDBOX_ID = 65534;

/** The uid/gid to run programs as: nobody when the worker is root, else the worker's own. */
export function sandboxIdentity(): { uid: number; gid: number } | undefined {
    return process.getuid?.() === 0 ? { uid: SANDBOX_ID, gid: SANDBOX_ID } : undefined;
}

/** Start of every job directory's name, in os.tmpdir(). */
export const JOB_DIR_PREFIX = 'collab-job-';

let creator: string | undefined;

/**
 * `<pid namespace>.<pid>` of this process: job directories carry it, so a
 * later worker can tell those of a dead worker from those in use.
 */
export function jobDirCreator(): string {
    if (creator === undefined) {
        let namespace = 'x';
        try {
            namespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? 'x';
        }
        catch {
            // no /proc: only the age tells a stale directory
        }
        creator = `${namespace}.${process.pid}`;
    }
    return creator;
}

/**
 * Creates a fresh private directory for one run and writes the source into it.
 * mkdtemp never reuses or follows an existing path; the file is opened with
 * O_EXCL|O_NOFOLLOW so nothing planted there can redirect the write.
 */
export async function createJobDir(fileName: string, code: string): Promise<string> {
    let dir: string;
    try {
        dir = await mkdtemp(path.join(os.tmpdir(), `${JOB_DIR_PREFIX}${jobDirCreator()}-`));
    }
    catch (cause) {
        throw new SandboxStartError('cannot create the job directory', { cause });
    }
    try {
        await chmod(dir, 0o700);
        const owner = sandboxIdentity();
        const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
        const file = await open(path.join(dir, fileName), flags, 0o600);
        try {
            await file.writeFile(code, 'utf8');
            if (owner) {
                await file.chown(owner.uid, owner.gid);
            }
        }
        finally {
            await file.close();
        }
        if (owner) {
            await lchown(dir, owner.uid, owner.gid);
        }
        return dir;
    }
    catch (cause) {
        await removeJobDir(dir).catch(() => undefined);
        throw new SandboxStartError('cannot prepare the job directory', { cause });
    }
}

// A program may leave directories without search or write permission; only
// matters when the worker is not root. lstat/chmod never follow symlinks here.
async function makeWritable(dir: string): Promise<void> {
    await chmod(dir, 0o700);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) {
            await makeWritable(path.join(dir, entry.name));
        }
    }
}

/**
 * Removes a job directory and everything the program left in it. Node's
 * recursive rm unlinks symlinks instead of following them, so a link to a
 * worker file removes the link, never the target.
 */
export async function removeJobDir(dir: string): Promise<void> {
    try {
        await rm(dir, { recursive: true, force: true, maxRetries: 2 });
    }
    catch (error) {
        if (!(await lstat(dir)).isDirectory()) {
            throw error;
        }
        await makeWritable(dir);
        await rm(dir, { recursive: true, force: true, maxRetries: 2 });
    }
}
