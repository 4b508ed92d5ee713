import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { SandboxStartError } from './errors.js';
import { jobDirCreator } from './job-dir.js';
import { JobCgroup, pidsIn, type JobCgroupLimits } from './job-cgroup.js';

export { JobCgroup, type JobCgroupLimits } from './job-cgroup.js';

/** Where cgroup hierarchies are mounted on a usual host. */
export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/** Name of the group under which every job's group is made. */
export const CGROUP_PARENT = 'collab';

/** Start of every job group's name; the rest is `<creator>-<n>` (see jobDirCreator). */
export const JOB_CGROUP_PREFIX = 'job-';

/** The one line the worker says when the host cannot give each job its own cgroup. */
export const CGROUPS_HINT =
    'mount cgroup v1 memory+pids writable by this user, or run under systemd with Delegate=yes (cgroup v2)';

/** The host cannot give per-job cgroups; `message` says why. */
export class CgroupsUnavailableError extends Error {
    override readonly name = 'CgroupsUnavailableError';
}

/** Groups made by this process: every host of the process names its groups from one count. */
let groupsMade = 0;

function write(file: string, value: string): void {
    writeFileSync(file, value);
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
 * Job groups live under a `collab` group. Each run takes a group with
 * {@link acquire} and gives it back with {@link release}: on cgroup v1 an
 * emptied group waits for the next job (one per job running at once), as
 * making and removing a memory cgroup per job costs the kernel more than the
 * job; elsewhere, and whenever a group cannot be shown empty, it is removed.
 */
export class CgroupHost {
    readonly version: 1 | 2;
    /** The groups job groups are made in: v1 memory and pids, or one v2 group. */
    readonly parents: readonly string[];
    readonly #identity: { uid: number; gid: number } | undefined;
    readonly #idle: JobCgroup[] = [];
    #closed = false;

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

    /** A group for one job, with the job's limits: an emptied one waiting for reuse, or a new one. Throws SandboxStartError when the kernel refuses. */
    acquire(limits: JobCgroupLimits): JobCgroup {
        const group = this.#idle.pop() ?? this.create(limits);
        try {
            group.limit(limits);
            group.begin();
        }
        catch (cause) {
            group.remove().catch(() => undefined);
            throw new SandboxStartError(`cannot set the job's cgroup limits: ${(cause as Error).message}`, { cause });
        }
        return group;
    }

    /** Takes a group back after its job: emptied and kept for the next job, or removed. Never throws. */
    async release(group: JobCgroup): Promise<void> {
        if (!this.#closed && await group.emptyForReuse().catch(() => false)) {
            this.#idle.push(group);
            return;
        }
        await group.remove();
    }

    /** Removes the groups waiting for reuse; later releases remove theirs. */
    async close(): Promise<void> {
        this.#closed = true;
        await Promise.all(this.#idle.splice(0).map((group) => group.remove()));
    }

    /** Makes a new group with its limits; throws SandboxStartError when the kernel refuses. */
    create(limits: JobCgroupLimits): JobCgroup {
        const name = `${JOB_CGROUP_PREFIX}${jobDirCreator()}-${(groupsMade += 1)}`;
        const dirs = this.parents.map((parent) => path.join(parent, name));
        const group = new JobCgroup(this.version, dirs);
        const made: string[] = [];
        try {
            for (const dir of dirs) {
                mkdirSync(dir);
                made.push(dir);
            }
            group.limit(limits);
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
