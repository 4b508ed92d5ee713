import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { CliError } from './errors.js';

/** How long a process waits for another one's lock before giving up. */
const WAIT_MS = 30_000;
/** A lock file still empty after this long was left by a process that died while creating it. */
const EMPTY_STALE_MS = 5_000;

/**
 * Runs `work` while this process holds the lock file `file` (created exclusively, holding the
 * pid). A lock whose process has died is taken over, so a killed `collab` never blocks the next one.
 */
export async function withFileLock<T>(file: string, work: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
        try {
            writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
            break;
        }
        catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
                throw new CliError(`Cannot create ${file}: ${(err as Error).message}.`);
            }
        }

        if (holderIsGone(file)) {
            breakStale(file);
            continue;
        }

        if (Date.now() > deadline) {
            throw new CliError(`Another collab process has held ${file} for ${WAIT_MS / 1000} s: delete it if none is running.`);
        }

        await sleep(20);
    }

    try {
        return await work();
    }
    finally {
        rmSync(file, { force: true });
    }
}

/**
 * Removes a lock whose holder died, unless another process took the lock meanwhile. Several
 * processes may find the same dead holder: each checks again and removes the file only while it
 * holds `<file>.break`, one at a time, so none removes the lock another has just taken.
 */
function breakStale(file: string): void {
    const breaker = `${file}.break`;
    try {
        writeFileSync(breaker, String(process.pid), { flag: 'wx', mode: 0o600 });
    }
    catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
            throw new CliError(`Cannot create ${breaker}: ${(err as Error).message}.`);
        }

        // Another process is breaking the lock; its file is removed at once, or left by one that died doing so.
        if (holderIsGone(breaker)) {
            rmSync(breaker, { force: true });
        }

        return;
    }

    try {
        if (holderIsGone(file)) {
            rmSync(file, { force: true });
        }
    }
    finally {
        rmSync(breaker, { force: true });
    }
}

function holderIsGone(file: string): boolean {
    let text: string;
    try {
        text = readFileSync(file, 'utf8');
    }
    catch {
        return false;                           // released meanwhile: the next attempt takes it
    }

    const pid = Number(text);
    if (!text || !Number.isSafeInteger(pid) || pid <= 0) {
        try {
            return Date.now() - statSync(file).mtimeMs > EMPTY_STALE_MS;
        }
        catch {
            return false;
        }
    }

    try {
        process.kill(pid, 0);
        return false;
    }
    catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
}
