import { accessSync, constants } from 'node:fs';
import path from 'node:path';

import type { LanguageSpec, Rlimits } from '../languages.js';
import type { SandboxMode } from './types.js';

/** Where the job directory appears inside the sandbox. */
export const SANDBOX_WORKDIR = '/work';

/** Size of the private /tmp; tmpfs pages are RAM that RLIMIT_AS does not count. */
export const TMP_SIZE_BYTES = 64 * 1024 * 1024;

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
}

/** How the limits are applied: dash's `ulimit` builtin, or a `prlimit` exec. */
export type LimitsMethod = 'ulimit' | 'prlimit';

let limitsMethod: LimitsMethod | undefined;

function defaultLimitsMethod(): LimitsMethod {
    if (limitsMethod === undefined) {
        try {
            accessSync(DASH, constants.X_OK);
            limitsMethod = 'ulimit';
        } catch {
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
        '-c 0',
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
        '--',
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

function bwrapArgs(jobDir: string, spec: LanguageSpec): string[] {
    const args = [
        '--unshare-all',
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
        '--symlink', 'usr/sbin', '/sbin',
    ];
    for (const extra of spec.extraReadOnlyPaths) {
        args.push('--ro-bind', extra, extra);
    }
    args.push(
        '--proc', '/proc',
        '--dev', '/dev',
        '--size', String(TMP_SIZE_BYTES), '--tmpfs', '/tmp',
        '--bind', jobDir, SANDBOX_WORKDIR,
        // bwrap's root and /dev are unbounded tmpfs: make them read-only once populated.
        '--remount-ro', '/dev',
        '--remount-ro', '/',
        '--chdir', SANDBOX_WORKDIR,
        '--',
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
        } catch {
            // not here
        }
    }
    return undefined;
}

/**
 * The full command line for one run: bwrap (or nothing, in `none` mode),
 * then the shell that applies the limits and signals readiness, then the
 * interpreter.
 */
export function buildInvocation(
    mode: SandboxMode,
    bwrap: string,
    jobDir: string,
    spec: LanguageSpec,
    limits: Rlimits,
    memoryMb: number,
): Invocation {
    const inner = [...limitsWrapper(limits), ...spec.command(memoryMb)];
    if (mode === 'bwrap') {
        // bwrap starts with an empty environment: its pid-1 helper keeps the
        // environment it was given, readable by the program at /proc/1/environ.
        return { file: bwrap, args: [...bwrapArgs(jobDir, spec), ...inner], env: {}, cwd: '/' };
    }
    return {
        file: inner[0]!,
        args: inner.slice(1),
        env: { PATH, HOME: jobDir, LANG },
        cwd: jobDir,
    };
}
