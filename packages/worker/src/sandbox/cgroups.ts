import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { SandboxStartError } from './errors.js';
import { jobDirCreator } from './job-dir.js';

/** Where cgroup hierarchies are mounted on a usual host. */
export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/** Name of the group under which every job's group is made. */
export const CGROUP_PARENT = 'collab';

/** Start of every job group's name; the rest is `<creator>-<n>` (see jobDirCreator). */
export const JOB_CGROUP_PREFIX = 'job-';

/** The one line the worker says when the host cannot give each job its own cgroup. */
export const CGROUPS_HINT =
    'mount cgroup v1 memory+pids writable by this user, or run under systemd with Delegate=yes (cgroup v2)';

/** What bounds one job, as a whole. */
export interface JobCgroupLimits {
    memoryBytes: number;
    pids: number;
}

/** The host cannot give per-job cgroups; `message` says why. */
export class CgroupsUnavailableError extends Error {
    override readonly name = 'CgroupsUnavailableError';
}

const KILL_DEADLINE_MS = 2000;

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

function pidsIn(dir: string): number[] {
    try {
        return readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    }
    catch {
        return [];
    }
}

/** One job's group (one directory per hierarchy: v1 memory and pids, or one v2 group). */
export class JobCgroup {
    readonly #version: 1 | 2;
    readonly #dirs: readonly string[];
    #removed = false;

    constructor(version: 1 | 2, dirs: readonly string[]) {
        this.#version = version;
        this.#dirs = dirs;
    }

    /** The `cgroup.procs` files a process writes `0` to, to join the group before it execs. */
    get procsFiles(): string[] {
        return this.#dirs.map((dir) => path.join(dir, 'cgroup.procs'));
    }

    /** Processes the kernel's OOM killer ended in the group. */
    oomKills(): number {
        const [memory] = this.#dirs;
        return this.#version === 1
            ? (readNumber(path.join(memory!, 'memory.oom_control'), 'oom_kill') ?? 0)
            : (readNumber(path.join(memory!, 'memory.events'), 'oom_kill') ?? 0);
    }

    /** The most memory the group used at once, where the kernel reports it. */
    peakMemoryBytes(): number | undefined {
        const [memory] = this.#dirs;
        return readNumber(path.join(memory!, this.#version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak'));
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

async function killAndRemove(dir: string, version: 1 | 2): Promise<void> {
    if (!existsSync(dir)) {
        return;
    }
    const deadline = Date.now() + KILL_DEADLINE_MS;
    for (let round = 0; ; round += 1) {
        const pids = pidsIn(dir);
        if (pids.length === 0) {
            try {
                rmdirSync(dir);
                return;
            }
            catch (error) {
                // EBUSY: a process still exiting
                if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > deadline) throw error;
            }
        }
        else if (version === 2 && round === 0 && existsSync(path.join(dir, 'cgroup.kill'))) {
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
            throw new Error(`processes ${pidsIn(dir).join(', ')} do not die`);
        }
        await sleep(round < 10 ? 2 : 20);
    }
}

/** Options of {@link CgroupHost.open}. */
export interface CgroupHostOptions {
    /** Where the cgroup hierarchies are mounted (default /sys/fs/cgroup). */
    root?: string;
    /** Owner the join file of each job group is given: the user that starts the sandboxes. */
    identity?: { uid: number; gid: number } | undefined;
}

/**
 * The per-job cgroups of this host, found once at start-up: cgroup v2 with
 * memory and pids controllers in a subtree this process may write (systemd's
 * `Delegate=yes`), else cgroup v1 `memory` and `pids` hierarchies it may write.
 * Job groups live under a `collab` group, one per job, and are removed after it.
 */
export class CgroupHost {
    readonly version: 1 | 2;
    /** The groups job groups are made in: v1 memory and pids, or one v2 group. */
    readonly parents: readonly string[];
    readonly #identity: { uid: number; gid: number } | undefined;
    #next = 0;

    private constructor(version: 1 | 2, parents: string[], identity: CgroupHostOptions['identity']) {
        this.version = version;
        this.parents = parents;
        this.#identity = identity;
    }

    /** Finds and checks per-job cgroups; throws {@link CgroupsUnavailableError} saying why not. */
    static open(options: CgroupHostOptions = {}): CgroupHost {
        const root = options.root ?? DEFAULT_CGROUP_ROOT;
        const reasons: string[] = [];
        for (const attempt of [openV2, openV1]) {
            try {
                const found = attempt(root, options.identity);
                if (found) {
                    const host = new CgroupHost(found.version, found.parents, options.identity);
                    host.create({ memoryBytes: 64 * 1024 * 1024, pids: 8 }).remove().catch(() => undefined);
                    return host;
                }
            }
            catch (error) {
                reasons.push((error as Error).message);
            }
        }
        const why = reasons.length > 0 ? ` (${reasons.join('; ')})` : '';
        throw new CgroupsUnavailableError(`per-job cgroups unavailable at ${root}${why}`);
    }

    /** Makes a job's group with its limits; throws SandboxStartError when the kernel refuses. */
    create(limits: JobCgroupLimits): JobCgroup {
        const name = `${JOB_CGROUP_PREFIX}${jobDirCreator()}-${(this.#next += 1)}`;
        const dirs = this.parents.map((parent) => path.join(parent, name));
        const group = new JobCgroup(this.version, dirs);
        const made: string[] = [];
        try {
            for (const dir of dirs) {
                mkdirSync(dir);
                made.push(dir);
            }
            const memoryBytes = String(limits.memoryBytes);
            if (this.version === 1) {
                const [memory, pids] = dirs as [string, string];
                write(path.join(memory, 'memory.limit_in_bytes'), memoryBytes);
                // memory+swap at the same bound: nothing of the job goes to swap
                if (existsSync(path.join(memory, 'memory.memsw.limit_in_bytes'))) {
                    write(path.join(memory, 'memory.memsw.limit_in_bytes'), memoryBytes);
                }
                write(path.join(pids, 'pids.max'), String(limits.pids));
            }
            else {
                const [dir] = dirs as [string];
                write(path.join(dir, 'memory.max'), memoryBytes);
                if (existsSync(path.join(dir, 'memory.swap.max'))) {
                    write(path.join(dir, 'memory.swap.max'), '0');
                }
                write(path.join(dir, 'pids.max'), String(limits.pids));
            }
            if (this.#identity) {
                for (const file of group.procsFiles) {
                    chownSync(file, this.#identity.uid, this.#identity.gid);
                }
            }
            return group;
        }
        catch (cause) {
            for (const dir of made) {
                try {
                    rmdirSync(dir);
                }
                catch {
                    // left for the sweep
                }
            }
            throw new SandboxStartError(`cannot create the job's cgroup: ${(cause as Error).message}`, { cause });
        }
    }

    /** Names of the job groups that exist now (in the first parent). */
    jobGroups(): string[] {
        return readdirSync(this.parents[0]!).filter((name) => name.startsWith(JOB_CGROUP_PREFIX));
    }

    /** Removes the groups that workers of this PID namespace left when they died; returns how many. */
    async sweep(isStale: (creator: string) => boolean): Promise<number> {
        let removed = 0;
        for (const name of this.jobGroups()) {
            const creator = /^job-(\w+\.\d+)-\d+$/.exec(name)?.[1];
            if (creator && isStale(creator)) {
                await new JobCgroup(this.version, this.parents.map((parent) => path.join(parent, name))).remove();
                removed += 1;
            }
        }
        return removed;
    }
}

function controllersOf(file: string): string[] {
    return readFileSync(file, 'utf8').trim().split(/\s+/);
}

function openV1(root: string): { version: 1; parents: string[] } | undefined {
    const memory = path.join(root, 'memory');
    const pids = path.join(root, 'pids');
    if (!existsSync(path.join(memory, 'memory.limit_in_bytes')) || !existsSync(path.join(pids, 'cgroup.procs'))) {
        return undefined;
    }
    const parents = [path.join(memory, CGROUP_PARENT), path.join(pids, CGROUP_PARENT)];
    for (const parent of parents) {
        mkdirSync(parent, { recursive: true });
    }
    if (!existsSync(path.join(parents[1]!, 'pids.max'))) {
        throw new Error(`${pids} is not a cgroup v1 pids hierarchy`);
    }
    return { version: 1, parents };
}

/**
 * cgroup v2: controllers can only be given to children of a group without
 * processes, so the processes of this process's own group move to a `worker`
 * leaf beside `collab`.
 */
function openV2(root: string, identity: CgroupHostOptions['identity']): { version: 2; parents: string[] } | undefined {
    if (!existsSync(path.join(root, 'cgroup.controllers'))) {
        return undefined;
    }
    const own = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    if (own === undefined) {
        return undefined;
    }
    const base = path.join(root, own);
    const wanted = ['memory', 'pids'];
    const available = controllersOf(path.join(base, 'cgroup.controllers'));
    if (!wanted.every((name) => available.includes(name))) {
        throw new Error(`cgroup v2 group ${base} lacks the memory and pids controllers`);
    }
    if (own !== '/' && !wanted.every((name) => controllersOf(path.join(base, 'cgroup.subtree_control')).includes(name))) {
        const leaf = path.join(base, 'worker');
        mkdirSync(leaf, { recursive: true });
        for (const pid of pidsIn(base)) {
            write(path.join(leaf, 'cgroup.procs'), String(pid));
        }
    }
    write(path.join(base, 'cgroup.subtree_control'), '+memory +pids');
    const parent = path.join(base, CGROUP_PARENT);
    mkdirSync(parent, { recursive: true });
    write(path.join(parent, 'cgroup.subtree_control'), '+memory +pids');
    if (identity) {
        // A move needs write access to the common ancestor's cgroup.procs (the sandbox user starts sandboxes).
        chownSync(path.join(base, 'cgroup.procs'), identity.uid, identity.gid);
    }
    return { version: 2, parents: [parent] };
}
