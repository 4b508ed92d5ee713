import { existsSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What bounds one job, as a whole. */
export interface JobCgroupLimits {
    memoryBytes: number;
    pids: number;
}

const KILL_DEADLINE_MS = 2000;

/** Memory still charged to an emptied group beyond which it is not handed to another job. */
const REUSABLE_RESIDUE_BYTES = 4 * 1024 * 1024;

function write(file: string, value: string): void {
    writeFileSync(file, value);
}

function readNumber(file: string, key?: string): number | undefined {
    try {
        const text = readFileSync(file, 'utf8');
        if (key === undefined) {
            return Number(text.trim());
        }
        const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
        return match ? Number(match[1]) : undefined;
    }
    catch {
        return undefined;
    }
}

/** Processes in a group (none for a group that is gone). */
export function pidsIn(dir: string): number[] {
    try {
        return readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    }
    catch {
        return [];
    }
}

/** Kills every process of the group until none is left; false when some survive the deadline. */
async function killAll(dir: string, version: 1 | 2): Promise<boolean> {
    const deadline = Date.now() + KILL_DEADLINE_MS;
    for (let round = 0; ; round += 1) {
        const pids = pidsIn(dir);
        if (pids.length === 0) {
            return true;
        }
        if (version === 2 && round === 0 && existsSync(path.join(dir, 'cgroup.kill'))) {
            write(path.join(dir, 'cgroup.kill'), '1');
        }
        else {
            for (const pid of pids) {
                try {
                    process.kill(pid, 'SIGKILL');
                }
                catch {
                    // gone already
                }
            }
        }
        if (Date.now() > deadline) {
            return false;
        }
        await sleep(round < 10 ? 2 : 20);
    }
}

async function killAndRemove(dir: string, version: 1 | 2): Promise<void> {
    if (!existsSync(dir)) {
        return;
    }
    const deadline = Date.now() + KILL_DEADLINE_MS;
    for (;;) {
        if (!(await killAll(dir, version))) {
            throw new Error(`processes ${pidsIn(dir).join(', ')} do not die`);
        }
        try {
            rmdirSync(dir);
            return;
        }
        catch (error) {
            // EBUSY: a process still exiting
            if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > deadline) throw error;
        }
        await sleep(2);
    }
}

/**
 * One job's group (one directory per hierarchy: v1 memory and pids, or one
 * v2 group). On cgroup v1 a group serves one job after another: between two
 * jobs it is emptied and checked empty ({@link emptyForReuse}), and each job
 * starts with its own limits, a peak reset to nothing and its own count of
 * OOM kills ({@link begin}).
 */
export class JobCgroup {
    readonly #version: 1 | 2;
    readonly #dirs: readonly string[];
    #limits: JobCgroupLimits | undefined;
    #oomKillsBefore = 0;
    #removed = false;

    constructor(version: 1 | 2, dirs: readonly string[]) {
        this.#version = version;
        this.#dirs = dirs;
    }

    /** The `cgroup.procs` files a process writes `0` to, to join the group before it execs. */
    get procsFiles(): string[] {
        return this.#dirs.map((dir) => path.join(dir, 'cgroup.procs'));
    }

    /** Processes in the group now. */
    pids(): number[] {
        return [...new Set(this.#dirs.flatMap(pidsIn))];
    }

    /** Writes the limits that differ from the group's current ones. */
    limit(limits: JobCgroupLimits): void {
        const [memory, pids] = this.#version === 1 ? this.#dirs as [string, string] : [this.#dirs[0]!, this.#dirs[0]!];
        const old = this.#limits;
        this.#limits = limits;
        if (old?.memoryBytes !== limits.memoryBytes) {
            const bytes = String(limits.memoryBytes);
            if (this.#version === 1) {
                // memory+swap at the same bound (nothing of the job goes to swap); memsw may never be below the limit
                const memsw = path.join(memory, 'memory.memsw.limit_in_bytes');
                const both = existsSync(memsw) ? [path.join(memory, 'memory.limit_in_bytes'), memsw] : [path.join(memory, 'memory.limit_in_bytes')];
                for (const file of old && old.memoryBytes < limits.memoryBytes ? both.reverse() : both) {
                    write(file, bytes);
                }
            }
            else {
                write(path.join(memory, 'memory.max'), bytes);
                if (!old && existsSync(path.join(memory, 'memory.swap.max'))) {
                    write(path.join(memory, 'memory.swap.max'), '0');
                }
            }
        }
        if (old?.pids !== limits.pids) {
            write(path.join(pids, 'pids.max'), String(limits.pids));
        }
    }

    /** Starts a job's accounting: OOM kills are counted from here, and (v1) the peak restarts from the current use. */
    begin(): void {
        this.#oomKillsBefore = this.#rawOomKills();
        if (this.#version === 1) {
            write(path.join(this.#dirs[0]!, 'memory.max_usage_in_bytes'), '0');
        }
    }

    /** Processes the kernel's OOM killer ended in the group during this job. */
    oomKills(): number {
        return this.#rawOomKills() - this.#oomKillsBefore;
    }

    #rawOomKills(): number {
        const [memory] = this.#dirs;
        return this.#version === 1
            ? (readNumber(path.join(memory!, 'memory.oom_control'), 'oom_kill') ?? 0)
            : (readNumber(path.join(memory!, 'memory.events'), 'oom_kill') ?? 0);
    }

    /** The most memory the group used at once during this job, where the kernel reports it. */
    peakMemoryBytes(): number | undefined {
        const [memory] = this.#dirs;
        return readNumber(path.join(memory!, this.#version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak'));
    }

    /**
     * Kills what is left of a job, and says whether the group may serve
     * another: cgroup v1 (where the peak can be reset), no process left in
     * any of its hierarchies nor counted by its pids controller, and almost
     * nothing still charged to its memory.
     */
    async emptyForReuse(): Promise<boolean> {
        if (this.#version !== 1 || this.#removed) {
            return false;
        }
        for (const dir of this.#dirs) {
            if (!(await killAll(dir, this.#version))) {
                return false;
            }
        }
        // A process that left cgroup.procs counts in pids.current until it is reaped (in fresh mode bwrap's
        // orphans may wait a second for that): such a group is not reused, so the next job gets every pid.
        if (readNumber(path.join(this.#dirs[1]!, 'pids.current')) !== 0) {
            return false;
        }
        const charged = readNumber(path.join(this.#dirs[0]!, 'memory.usage_in_bytes'));
        return charged !== undefined && charged <= REUSABLE_RESIDUE_BYTES && this.pids().length === 0;
    }

    /** Kills what is left in the group, then removes it. Never throws; a group that stays is reported. */
    async remove(): Promise<void> {
        if (this.#removed) {
            return;
        }
        this.#removed = true;
        for (const dir of this.#dirs) {
            try {
                await killAndRemove(dir, this.#version);
            }
            catch (error) {
                process.emitWarning(`cannot remove cgroup ${dir}: ${(error as Error).message}`);
            }
        }
    }
}
