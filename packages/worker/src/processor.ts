import type { Logger } from '@collab/core';
import { UnrecoverableError, WaitingError, type Job as BullJob } from 'bullmq';
import type { Knex } from 'knex';

import { isLanguage } from './languages.js';
import type { JobPublisher, OutputBatcher } from './publisher.js';
import { runProgram, type CgroupHost, type RunResult, type SandboxMode, type SandboxStart } from './sandbox/index.js';
import { claimJob, finishJob, JOB_ERRORS, requeueJob, type ClaimedJob, type JobResultRow } from './store.js';

/** Why a run was aborted: a user's cancel, or this worker shutting down. */
export type AbortReason = 'cancel' | 'shutdown';

/** What the processor needs from its worker. */
export interface ProcessorContext {
    db: Knex;
    mode: SandboxMode;
    /** How each job's sandbox is made (COLLAB_SANDBOX_MODE). */
    start: SandboxStart;
    /** Where each job gets its own cgroup; undefined where the host has none. */
    cgroups: CgroupHost | undefined;
    /** SANDBOX_DISK_MB: the size of what a program can write. */
    diskMb: number;
    publisher: JobPublisher;
    logger: Logger;
    /** Runs in progress on this worker, by job id: cancel and shutdown abort them. */
    running: Map<string, AbortController>;
}

function resultRow(result: RunResult, timeoutMs: number): JobResultRow {
    // A program that exited by itself keeps its own result, even if a cancel came too late.
    const status =
        result.outcome === 'timed_out'
            ? 'timed_out'
            : result.outcome === 'cancelled'
                ? 'cancelled'
                : result.exitCode === 0
                    ? 'succeeded'
                    : 'failed';
    return {
        status,
        exit_code: result.exitCode,
        stdout: result.stdout,
        stderr: result.stderr,
        truncated: result.truncated,
        duration_ms: result.durationMs,
        error: status === 'timed_out' ? JOB_ERRORS.timedOut(timeoutMs) : null
    };
}

async function run(ctx: ProcessorContext, job: ClaimedJob, signal: AbortSignal, output: OutputBatcher): Promise<RunResult> {
    if (!isLanguage(job.language)) {
        throw new UnrecoverableError(`unknown language "${job.language}"`);
    }
    try {
        return await runProgram({
            language: job.language,
            code: job.code,
            stdin: job.stdin ?? undefined,
            timeoutMs: job.timeout_ms,
            memoryMb: job.memory_mb,
            mode: ctx.mode,
            start: ctx.start,
            cgroups: ctx.cgroups,
            diskMb: ctx.diskMb,
            signal,
            onOutput: (stream, chunk) => output.push(stream, chunk)
        });
    }
    catch (error) {
        // An invalid spec never gets better; SandboxStartError and the rest are retried.
        throw error instanceof RangeError ? new UnrecoverableError(error.message) : error;
    }
}

/**
 * The BullMQ processor: claims the job's row, runs the program, writes the
 * result. A program's failure is a result; a thrown error is a system
 * failure that BullMQ retries (sandbox did not start, database write failed).
 */
export function createProcessor(ctx: ProcessorContext) {
    return async (bullJob: BullJob<{ job_id: string }>, token?: string): Promise<string> => {
        const id = bullJob.data.job_id;
        const controller = new AbortController();
        // Registered before the claim: a cancel published after the claim must find it.
        ctx.running.set(id, controller);
        let output: OutputBatcher | undefined;
        try {
            const job = await claimJob(ctx.db, id);
            if (!job) {
                return 'skipped';
            }
            if (job.status === 'cancelled') {
                await ctx.publisher.status(job, 'cancelled');
                return 'cancelled';
            }
            // The output's last chunks go out with the run's final status, in one write.
            output = ctx.publisher.output(id);
            const running = run(ctx, job, controller.signal, output);
            // Announced once the program's start is asked for: published before any output can arrive
            // (output comes in later turns of the event loop), and done before anything announces the end.
            const announced = ctx.publisher.status(job, 'running');
            const result = await running.finally(() => announced);
            const reason = controller.signal.reason as AbortReason | undefined;
            if (reason === 'shutdown' && result.outcome === 'cancelled') {
                if (await requeueJob(ctx.db, id, job.attempts)) {
                    await ctx.publisher.status(job, 'queued', null, null, output);
                }
                await bullJob.moveToWait(token);
                throw new WaitingError();
            }
            const row = resultRow(result, job.timeout_ms);
            const finished = await finishJob(ctx.db, id, job.attempts, row);
            if (finished) {
                await ctx.publisher.finished(job, finished, output);
                return row.status;
            }
            ctx.logger.info({ job_id: id, attempt: job.attempts }, 'job was ended elsewhere; result discarded');
            return 'superseded';
        }
        finally {
            output?.flush();
            if (ctx.running.get(id) === controller) {
                ctx.running.delete(id);
            }
        }
    };
}
