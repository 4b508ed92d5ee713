import { constants } from 'node:fs';
import { access } from 'node:fs/promises';

import { getLanguage } from '../languages.js';
import { buildInvocation, findBwrap } from './command.js';
import { SandboxStartError } from './errors.js';
import { createJobDir, removeJobDir, sandboxIdentity } from './job-dir.js';
import { spawnDirectly } from './launch.js';
import { defaultLauncher } from './spawner.js';
import { supervise } from './supervise.js';
import type { RunResult, RunSpec } from './types.js';

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
}

async function requireExecutable(file: string, what: string): Promise<void> {
    try {
        await access(file, constants.X_OK);
    } catch (cause) {
        throw new SandboxStartError(`${what} is not available at ${file}`, { cause });
    }
}

/**
 * Runs one program in a fresh job directory, in bubblewrap (`mode: 'bwrap'`)
 * or directly (`mode: 'none'`, development only), with rlimits, a wall-clock
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
    await requireExecutable(language.interpreter, `the ${language.language} interpreter`);

    const limits = language.limits(spec.timeoutMs, spec.memoryMb);
    const jobDir = await createJobDir(language.fileName, spec.code);
    try {
        const invocation = buildInvocation(spec.mode, bwrap, jobDir, language, limits, spec.memoryMb);
        const identity = sandboxIdentity();
        return await supervise(invocation, {
            stdin: spec.stdin,
            timeoutMs: spec.timeoutMs,
            signal: spec.signal,
            onOutput: spec.onOutput,
            identity,
            launcher: spec.launcher ?? defaultLauncher(identity) ?? spawnDirectly,
        });
    } finally {
        await removeJobDir(jobDir).catch((error: unknown) => {
            process.emitWarning(`cannot remove job directory ${jobDir}: ${String(error)}`);
        });
    }
}
