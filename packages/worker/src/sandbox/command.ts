import { accessSync, constants } from 'node:fs';
import path from 'node:path';

import type { LanguageSpec, Rlimits } from '../languages.js';
import { seccompFilter } from './seccomp.js';
import type { SandboxMode } from './types.js';

/** Where the job directory appears inside the sandbox. */
export const SANDBOX_WORKDIR = '/work';

/**
 * Default size of what a program can write: one tmpfs holding the working
 * directory and `/tmp` (SANDBOX_DISK_MB), and `/dev/shm` as large again. Their
 * pages are RAM, charged to the job's memory cgroup.
 */
export const TMP_SIZE_BYTES = 64 * 1024 * 1024;

/** Where `/tmp` points inside the sandbox: a directory of the working directory's tmpfs. */
export const SANDBOX_TMP = `${SANDBOX_WORKDIR}/.tmp`;

/** A job's own POSIX shared memory, a tmpfs of the same size as its working directory's. */
export const SANDBOX_SHM = '/dev/shm';

/** The descriptor on which bwrap reads the seccomp filter. */
export const SECCOMP_FD = 4;

const PATH = '/usr/local/bin:/usr/bin:/bin';
const LANG = 'C.UTF-8';

/**
 * The shell that starts the program inside the sandbox. dash's `ulimit`
 * sets each limit (soft and hard) in the shell itself, so the program is
 * exec'd straight from it; other shells' `ulimit` flags and units differ, so
 * without dash the limits come from a `prlimit` exec instead.
 */
const DASH = '/usr/bin/dash';

/**
 * After the limits: drops the PWD bwrap exports (bwrap 0.8 sets it even
 * with --clearenv), writes one byte on fd 3 to tell the worker the sandbox is
 * up with its limits, closes fd 3 so the program never sees it, then execs
 * (no extra process stays).
 */
const READY_SCRIPT = 'unset PWD OLDPWD && printf . >&3 && exec 3>&- && exec "$@"';

/** A command line for `spawn`, with the environment the spawned process gets. */
export interface Invocation {
    file: string;
    args: string[];
    env: Record<string, string>;
    cwd: string;
    /** Bytes the process reads on {@link SECCOMP_FD} (a pipe closed after them): bwrap's seccomp filter. */
    seccomp?: Buffer;
}

/** What a run gets besides its language and rlimits. */
export interface InvocationExtras {
    /** Size of the writable area (working directory and /tmp together) in bwrap mode. */
    diskBytes?: number;
    /** `cgroup.procs` files the process joins before it execs anything (a job's cgroup). */
    cgroupProcs?: readonly string[];
}

/** Shell that must exist for the cgroup join; dash when there, else /bin/sh. */
const JOIN_SHELL = ['/usr/bin/dash', '/bin/sh'];

/**
 * Joins each cgroup given before `--` by writing 0 (this process) to its
 * cgroup.procs, then execs the rest: every process the job forks later is
 * born in the job's groups. A failed join ends it before the ready byte.
 */
const JOIN_SCRIPT = 'unset PWD OLDPWD; while [ "$1" != -- ]; do echo 0 >"$1" || exit 125; shift; done; shift; exec "$@"';

/** How the limits are applied: dash's `ulimit` builtin, or a `prlimit` exec. */
export type LimitsMethod = 'ulimit' | 'prlimit';

let limitsMethod: LimitsMethod | undefined;

function defaultLimitsMethod(): LimitsMethod {
    if (limitsMethod === undefined) {
        try {
            accessSync(DASH, constants.X_OK);
            limitsMethod = 'ulimit';
        }
        catch {
            limitsMethod = 'prlimit';
        }
    }
    return limitsMethod;
}

// dash units: -f and -c in 512-byte blocks, -v in KiB; -p is RLIMIT_NPROC.
function ulimitScript(limits: Rlimits): string {
    const set = [
        `-t ${limits.cpuSeconds}`,
        `-p ${limits.nproc}`,
        `-f ${Math.floor(limits.fileSizeBytes / 512)}`,
        `-n ${limits.openFiles}`,
        `-v ${Math.floor(limits.addressSpaceBytes / 1024)}`,
        // no core files: they would fill the job directory or reach the host's core handler
        '-c 0'
    ];
    return [...set.map((flags) => `ulimit ${flags}`), READY_SCRIPT].join(' && ');
}

function prlimitArgs(limits: Rlimits): string[] {
    return [
        '/usr/bin/prlimit',
        `--cpu=${limits.cpuSeconds}`,
        `--nproc=${limits.nproc}`,
        `--fsize=${limits.fileSizeBytes}`,
        `--nofile=${limits.openFiles}`,
        `--as=${limits.addressSpaceBytes}`,
        '--core=0', // no core files, as in ulimitScript
        '--'
    ];
}

/**
 * The start of the command line inside the sandbox, before the interpreter:
 * a shell that applies the rlimits, signals readiness on fd 3 and execs.
 * Any failure before the program (a limit that cannot be set) leaves fd 3
 * unwritten, which the worker reports as a sandbox start failure.
 */
export function limitsWrapper(limits: Rlimits, method: LimitsMethod = defaultLimitsMethod()): string[] {
    if (method === 'ulimit') {
        return [DASH, '-c', ulimitScript(limits), 'sh'];
    }
    return [...prlimitArgs(limits), '/bin/sh', '-c', READY_SCRIPT, 'sh'];
}

/**
 * The sandbox every program and fork server starts in: all namespaces
 * unshared, an environment of PATH, HOME and LANG only, the system read-only
 * (`/usr` and the language's own paths), `/proc` and `/dev`. Callers add
 * their writable area, the final remounts and the command.
 */
export function baseSandboxArgs(spec: LanguageSpec): string[] {
    const args = [
        '--unshare-all',
        '--unshare-user',
        '--die-with-parent',
        '--new-session',
        '--clearenv',
        '--setenv', 'PATH', PATH,
        '--setenv', 'HOME', SANDBOX_WORKDIR,
        '--setenv', 'LANG', LANG,
        '--ro-bind', '/usr', '/usr',
        '--symlink', 'usr/lib', '/lib',
        '--symlink', 'usr/lib64', '/lib64',
        '--symlink', 'usr/bin', '/bin',
        '--symlink', 'usr/sbin', '/sbin'
    ];
    for (const extra of spec.extraReadOnlyPaths) {
        args.push('--ro-bind', extra, extra);
    }
    args.push('--proc', '/proc', '--dev', '/dev');
    return args;
}

function bwrapArgs(jobDir: string, spec: LanguageSpec, diskBytes: number): string[] {
    // An explicit user namespace (--unshare-user), so nested ones can be refused (`unshare -U` fails).
    const args = ['--disable-userns', ...baseSandboxArgs(spec)];
    args.push(
        // One size-capped tmpfs is all the program can write: the working directory, with /tmp in it.
        '--size', String(diskBytes), '--tmpfs', SANDBOX_WORKDIR,
        '--perms', '1777', '--dir', SANDBOX_TMP,
        '--symlink', SANDBOX_TMP, '/tmp',
        // POSIX semaphores and shared memory (multiprocessing's Pool, Queue, Lock): a tmpfs as large again.
        '--size', String(diskBytes), '--perms', '1777', '--tmpfs', SANDBOX_SHM,
        // The source stays on the host, read-only; nothing the program writes lands there.
        '--ro-bind', path.join(jobDir, spec.fileName), path.join(SANDBOX_WORKDIR, spec.fileName),
        // bwrap's root and /dev are unbounded tmpfs: make them read-only once populated.
        '--remount-ro', '/dev',
        '--remount-ro', '/',
        '--chdir', SANDBOX_WORKDIR,
        '--seccomp', String(SECCOMP_FD),
        '--'
    );
    return args;
}

let bwrapFound: { searched: string; at: string } | undefined;

/**
 * The absolute path of bwrap on the worker's PATH, or undefined. Remembered
 * for as long as PATH stays the same; a bwrap removed since then fails at
 * spawn, which is a sandbox start failure as well.
 */
export function findBwrap(): string | undefined {
    const searched = process.env.PATH ?? '/usr/bin:/bin';
    if (bwrapFound?.searched === searched) {
        return bwrapFound.at;
    }
    for (const dir of [...searched.split(path.delimiter), '/usr/bin', '/bin']) {
        const candidate = path.join(dir, 'bwrap');
        try {
            accessSync(candidate, constants.X_OK);
            bwrapFound = { searched, at: candidate };
            return candidate;
        }
        catch {
            // not here
        }
    }
    return undefined;
}

function joinShell(): string {
    for (const shell of JOIN_SHELL) {
        try {
            accessSync(shell, constants.X_OK);
            return shell;
        }
        catch {
            // try the next one
        }
    }
    return JOIN_SHELL[JOIN_SHELL.length - 1]!;
}

/**
 * The full command line for one run: the cgroup join (when the job has a
 * cgroup), bwrap with its seccomp filter (or nothing, in `none` mode), then
 * the shell that applies the limits and signals readiness, then the
 * interpreter.
 */
export function buildInvocation(
    mode: SandboxMode,
    bwrap: string,
    jobDir: string,
    spec: LanguageSpec,
    limits: Rlimits,
    memoryMb: number,
    extras: InvocationExtras = {}
): Invocation {
    const inner = [...limitsWrapper(limits), ...spec.command(memoryMb)];
    let invocation: Invocation;
    if (mode === 'bwrap') {
        // bwrap starts with an empty environment: its pid-1 helper keeps the
        // environment it was given, readable by the program at /proc/1/environ.
        const args = [...bwrapArgs(jobDir, spec, extras.diskBytes ?? TMP_SIZE_BYTES), ...inner];
        invocation = { file: bwrap, args, env: {}, cwd: '/', seccomp: seccompFilter() };
    }
    else {
        invocation = {
            file: inner[0]!,
            args: inner.slice(1),
            env: { PATH, HOME: jobDir, LANG },
            cwd: jobDir
        };
    }
    const procs = extras.cgroupProcs ?? [];
    if (procs.length === 0) {
        return invocation;
    }
    const shell = joinShell();
    return {
        ...invocation,
        file: shell,
        args: ['-c', JOIN_SCRIPT, 'sh', ...procs, '--', invocation.file, ...invocation.args]
    };
}
