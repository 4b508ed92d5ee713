import { accessSync, constants } from 'node:fs';

import { getLanguage, LANGUAGES, type LanguageSpec, type Rlimits } from '../languages.js';
import { baseSandboxArgs, SANDBOX_TMP, SANDBOX_WORKDIR } from './command.js';
import { pythonSource } from './python-files.js';
import { seccompFilter } from './seccomp.js';
import { sandboxIdentity } from './job-dir.js';
import { defaultSpawner, type ForkRequest, type ForkServerDefinition } from './spawner.js';

/** How each job's sandbox is made: forked from its language's fork server, or started afresh. */
export type SandboxStart = 'forkserver' | 'fresh';

/** The descriptor on which bwrap reads the fork server's program (--ro-bind-data). */
const SCRIPT_FD = 4;

/**
 * Starts the interpreter without the PWD bwrap exports, so its environment
 * block is exactly PATH, HOME and LANG, as a fresh job's.
 */
const CLEAN_ENV_SCRIPT = 'unset PWD OLDPWD && exec "$@"';

function shell(): string {
    for (const candidate of ['/usr/bin/dash', '/bin/sh']) {
        try {
            accessSync(candidate, constants.X_OK);
            return candidate;
        }
        catch {
            // try the next one
        }
    }
    return '/bin/sh';
}

/**
 * The fork server's sandbox: as a fresh job's (unprivileged uid, every
 * namespace unshared, an empty environment but PATH, HOME and LANG, read-only
 * `/`, `/usr` and `/dev`), with its program at /work/main.py, run from /work
 * as a job's program is. It has no seccomp filter and may make user
 * namespaces: each job's child makes its own and installs the filter itself.
 */
function serverArgs(spec: LanguageSpec): string[] {
    const args = baseSandboxArgs(spec);
    args.push(
        '--dir', SANDBOX_WORKDIR,
        '--ro-bind-data', String(SCRIPT_FD), `${SANDBOX_WORKDIR}/${spec.fileName}`,
        '--symlink', SANDBOX_TMP, '/tmp',
        '--remount-ro', '/dev',
        '--remount-ro', '/',
        '--chdir', SANDBOX_WORKDIR,
        '--',
        shell(), '-c', CLEAN_ENV_SCRIPT, 'sh',
        ...spec.command(0)
    );
    return args;
}

/** What the spawner needs to start a language's fork server; undefined for a language without one. */
export function forkServerDefinition(spec: LanguageSpec, bwrap: string): ForkServerDefinition | undefined {
    if (!spec.forkServer) {
        return undefined;
    }
    return { file: bwrap, args: serverArgs(spec), env: {}, cwd: '/', script: pythonSource(spec.forkServer), seccomp: seccompFilter() };
}

/** One job's request to its language's fork server. */
export function forkRequest(
    spec: LanguageSpec,
    bwrap: string,
    job: { code: string; stdin: string; capBytes: number; limits: Rlimits; diskBytes: number; cgroupProcs: readonly string[] }
): ForkRequest {
    const { limits } = job;
    return {
        key: spec.language,
        definition: () => forkServerDefinition(spec, bwrap)!,
        code: job.code,
        stdin: job.stdin,
        capBytes: job.capBytes,
        limits: [limits.cpuSeconds, limits.nproc, limits.fileSizeBytes, limits.openFiles, limits.addressSpaceBytes],
        diskBytes: job.diskBytes,
        cgroupProcs: job.cgroupProcs
    };
}

/**
 * Starts the fork server of every language that has one, so that the first
 * job does not pay for it; a server that cannot start is started again at
 * its first job, where its failure is that job's sandbox start failure.
 */
export function warmForkServers(bwrap: string): void {
    const spawner = defaultSpawner(sandboxIdentity());
    for (const language of LANGUAGES) {
        const definition = forkServerDefinition(getLanguage(language), bwrap);
        if (spawner && definition) {
            spawner.startForkServer(language, definition);
        }
    }
}
