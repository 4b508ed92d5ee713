import { accessSync, constants } from 'node:fs';

import { getLanguage } from '../languages.js';
import type { JobCgroup } from './cgroups.js';
import { buildInvocation, findBwrap, TMP_SIZE_BYTES } from './command.js';
import { SandboxStartError } from './errors.js';
import { forkRequest } from './forkserver.js';
import { createJobDir, removeJobDir, sandboxIdentity } from './job-dir.js';
import { spawnDirectly } from './launch.js';
import { defaultLauncher, defaultSpawner } from './spawner.js';
import { supervise, superviseLaunch } from './supervise.js';
import type { RunResult, RunSpec } from './types.js';
import type { LanguageSpec, Rlimits } from '../languages.js';

function checkSpec(spec: RunSpec): void {
    if (!Number.isFinite(spec.timeoutMs) || spec.timeoutMs <= 0) {
        throw new RangeError(`timeoutMs must be a positive number, got ${spec.timeoutMs}`);
    }
    if (!Number.isInteger(spec.memoryMb) || spec.memoryMb <= 0) {
        throw new RangeError(`memoryMb must be a positive integer, got ${spec.memoryMb}`);
    }
    if (spec.mode !== 'bwrap' && spec.mode !== 'none') {
        throw new RangeError(`unknown sandbox mode "${String(spec.mode)}"`);
    }
    if (spec.start !== undefined && spec.start !== 'forkserver' && spec.start !== 'fresh') {
        throw new RangeError(`unknown sandbox start "${String(spec.start)}"`);
    }
    if (spec.diskMb !== undefined && (!Number.isInteger(spec.diskMb) || spec.diskMb <= 0)) {
        throw new RangeError(`diskMb must be a positive integer, got ${spec.diskMb}`);
    }
}

const MiB = 1024 * 1024;

/**
 * The kernel killed a process of the job for its memory: the program failed
 * (137 = 128 + SIGKILL when it otherwise exited 0), with a note on stderr.
 */
function withCgroupReport(result: RunResult, group: JobCgroup, memoryMb: number): RunResult {
    const peak = group.peakMemoryBytes();
    const report: RunResult = peak === undefined ? result : { ...result, peakMemoryBytes: peak };
    const kills = group.oomKills();
    if (kills === 0) {
        return report;
    }
    const note = `collab: out of memory: the job's processes together reached memory_mb ${memoryMb}; the kernel killed ${kills} of them\n`;
    const stderr = report.stderr.length === 0 || report.stderr.endsWith('\n') ? report.stderr : `${report.stderr}\n`;
    return {
        ...report,
        stderr: stderr + note,
        exitCode: report.outcome === 'exited' && report.exitCode === 0 ? 137 : report.exitCode
    };
}

// A check of one local file: done in place, cheaper than a trip through libuv's thread pool.
function requireExecutable(file: string, what: string): void {
    try {
        accessSync(file, constants.X_OK);
    }
    catch (cause) {
        throw new SandboxStartError(`${what} is not available at ${file}`, { cause });
    }
}

/**
 * The job forked from its language's fork server: no job directory on the
 * host (the source reaches the job's own tmpfs through the spawner), the
 * job's cgroup joined by its PID 1 before anything of the job forks.
 */
async function runForked(spec: RunSpec, language: LanguageSpec, limits: Rlimits, bwrap: string): Promise<RunResult | undefined> {
    const spawner = defaultSpawner(sandboxIdentity());
    if (!spawner) {
        return undefined;
    }
    let group: JobCgroup | undefined;
    try {
        group = spec.cgroups?.acquire({ memoryBytes: spec.memoryMb * MiB, pids: limits.nproc });
        const request = (capBytes: number) => forkRequest(language, bwrap, {
            code: spec.code,
            stdin: spec.stdin ?? '',
            capBytes,
            limits,
            diskBytes: (spec.diskMb ?? TMP_SIZE_BYTES / MiB) * MiB,
            cgroupProcs: group?.procsFiles ?? []
        });
        const result = await superviseLaunch((capBytes) => spawner.fork(request(capBytes)), 'cannot fork the job', {
            stdin: spec.stdin,
            timeoutMs: spec.timeoutMs,
            signal: spec.signal,
            onOutput: spec.onOutput
        });
        return group ? withCgroupReport(result, group, spec.memoryMb) : result;
    }
    finally {
        if (group) {
            await spec.cgroups!.release(group);
        }
    }
}

/**
 * Runs one program in a fresh job directory, in bubblewrap (`mode: 'bwrap'`)
 * or directly (`mode: 'none'`, development only), in its own cgroup when the
 * host has them (memory and processes bounded for the whole job), with rlimits, a wall-clock
 * kill of its whole process tree, and stdout/stderr capped at 64 KiB each.
 * The job directory is removed before the promise settles.
 *
 * A program's own failure (non-zero exit, a signal, a limit) is a result.
 * Throws {@link SandboxStartError} when the sandbox cannot start, and a
 * RangeError for an invalid spec (unknown language, bad limits).
 */
export async function runProgram(spec: RunSpec): Promise<RunResult> {
    const language = getLanguage(spec.language);
    checkSpec(spec);
    if (spec.signal?.aborted) {
        return { exitCode: null, stdout: '', stderr: '', truncated: false, durationMs: 0, outcome: 'cancelled' };
    }
    let bwrap = '';
    if (spec.mode === 'bwrap') {
        bwrap = findBwrap() ?? '';
        if (!bwrap) {
            throw new SandboxStartError('bwrap (bubblewrap) is not installed or not on PATH');
        }
    }
    requireExecutable(language.interpreter, `the ${language.language} interpreter`);

    const limits = language.limits(spec.timeoutMs, spec.memoryMb);
    if (spec.mode === 'bwrap' && spec.start === 'forkserver' && language.forkServer && !spec.launcher) {
        const forked = await runForked(spec, language, limits, bwrap);
        if (forked) {
            return forked;
        }
    }
    const jobDir = await createJobDir(language.fileName, spec.code);
    let group: JobCgroup | undefined;
    try {
        group = spec.cgroups?.acquire({ memoryBytes: spec.memoryMb * MiB, pids: limits.nproc });
        const invocation = buildInvocation(spec.mode, bwrap, jobDir, language, limits, spec.memoryMb, {
            diskBytes: spec.diskMb === undefined ? undefined : spec.diskMb * MiB,
            cgroupProcs: group?.procsFiles
        });
        const identity = sandboxIdentity();
        const result = await supervise(invocation, {
            stdin: spec.stdin,
            timeoutMs: spec.timeoutMs,
            signal: spec.signal,
            onOutput: spec.onOutput,
            identity,
            launcher: spec.launcher ?? defaultLauncher(identity) ?? spawnDirectly
        });
        return group ? withCgroupReport(result, group, spec.memoryMb) : result;
    }
    finally {
        if (group) {
            await spec.cgroups!.release(group);
        }
        await removeJobDir(jobDir).catch((error: unknown) => {
            process.emitWarning(`cannot remove job directory ${jobDir}: ${String(error)}`);
        });
    }
}
