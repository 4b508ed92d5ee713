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
 * Runs inside the sandbox before the program: drops the PWD bwrap exports,
 * writes one byte on fd 3 to tell the worker the sandbox is up, closes fd 3
 * so the program never sees it, then execs (no extra process stays).
 */
const READY_SCRIPT = 'unset PWD OLDPWD; printf . >&3; exec 3>&-; exec "$@"';

/** A command line for `spawn`, with the environment the spawned process gets. */
export interface Invocation {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

function prlimitArgs(limits: Rlimits): string[] {
  return [
    '/usr/bin/prlimit',
    `--cpu=${limits.cpuSeconds}`,
    `--nproc=${limits.nproc}`,
    `--fsize=${limits.fileSizeBytes}`,
    `--nofile=${limits.openFiles}`,
    `--as=${limits.addressSpaceBytes}`,
    // no core files: they would fill the job directory or reach the host's core handler
    '--core=0',
    '--',
  ];
}

function readyWrapper(): string[] {
  return ['/bin/sh', '-c', READY_SCRIPT, 'sh'];
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

/** The absolute path of bwrap on the worker's PATH, or undefined. */
export function findBwrap(): string | undefined {
  const dirs = (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter);
  for (const dir of [...dirs, '/usr/bin', '/bin']) {
    const candidate = path.join(dir, 'bwrap');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The full command line for one run: bwrap (or nothing, in `none` mode),
 * then the readiness wrapper, prlimit and the interpreter.
 */
export function buildInvocation(
  mode: SandboxMode,
  bwrap: string,
  jobDir: string,
  spec: LanguageSpec,
  limits: Rlimits,
  memoryMb: number,
): Invocation {
  const inner = [...readyWrapper(), ...prlimitArgs(limits), ...spec.command(memoryMb)];
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
