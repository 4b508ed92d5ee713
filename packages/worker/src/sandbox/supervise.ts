import { performance } from 'node:perf_hooks';

import type { Invocation } from './command.js';
import { SandboxStartError } from './errors.js';
import type { LaunchedProcess, Launcher } from './launch.js';
import { CappedOutput, OUTPUT_CAP_BYTES } from './output.js';
import type { OutputStream, RunOutcome, RunResult } from './types.js';

/** How long to wait for the pipes to close after the process tree was killed. */
const CLOSE_GRACE_MS = 2000;

/** What {@link supervise} needs besides the command line. */
export interface SuperviseOptions {
    stdin: string | undefined;
    timeoutMs: number;
    signal: AbortSignal | undefined;
    onOutput: ((stream: OutputStream, chunk: string) => void) | undefined;
    identity: { uid: number; gid: number } | undefined;
    /** How the process is started. */
    launcher: Launcher;
}

function guarded(
    onOutput: SuperviseOptions['onOutput'],
    stream: OutputStream
): ((text: string) => void) | undefined {
    if (!onOutput) {
        return undefined;
    }
    return (text) => {
        try {
            onOutput(stream, text);
        }
        catch (error) {
            process.emitWarning(`sandbox onOutput callback threw: ${String(error)}`);
        }
    };
}

function killGroup(pid: number): void {
    try {
        process.kill(-pid, 'SIGKILL');
    }
    catch {
        // the group is already gone
    }
}

/** One running process: its output, its deadline and how it ended. */
class Supervision {
    readonly #process: LaunchedProcess;
    readonly #options: Omit<SuperviseOptions, 'launcher' | 'identity'>;
    readonly #started = performance.now();
    readonly #output: Record<OutputStream, CappedOutput>;
    readonly #deadline: NodeJS.Timeout;
    readonly #onAbort = (): void => this.#stop('cancelled');
    #pid: number | undefined;
    #killed = false;
    #grace: NodeJS.Timeout | undefined;
    #outcome: RunOutcome = 'exited';
    #ready = false;
    #exited: { code: number; at: number } | undefined;
    #settled = false;

    readonly #done: (result: RunResult | Error) => void;

    constructor(launched: LaunchedProcess, options: Omit<SuperviseOptions, 'launcher' | 'identity'>, done: (result: RunResult | Error) => void) {
        this.#process = launched;
        this.#done = done;
        this.#options = options;
        this.#output = {
            stdout: new CappedOutput(OUTPUT_CAP_BYTES, guarded(options.onOutput, 'stdout')),
            stderr: new CappedOutput(OUTPUT_CAP_BYTES, guarded(options.onOutput, 'stderr'))
        };
        this.#deadline = setTimeout(() => this.#stop('timed_out'), options.timeoutMs);
        options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    }

    start(): void {
        const launched = this.#process;
        launched.on('data', (stream, chunk) => this.#output[stream].push(chunk));
        launched.on('ready', () => {
            this.#ready = true;
            if (this.#killed) {
                this.#killGroupWhenArmed();
            }
        });
        launched.once('spawn', (pid) => {
            this.#pid = pid;
            if (this.#killed) {
                this.#killGroupWhenArmed();
            }
        });
        launched.on('error', (error) => {
            this.#killTree();
            this.#finish(error);
        });
        launched.once('exit', (code) => {
            this.#exited = { code, at: performance.now() };
            // The program is done: whatever it left running in its group goes too.
            this.#killTree();
        });
        launched.once('close', (dropped) => {
            this.#output.stdout.discard(dropped.stdout);
            this.#output.stderr.discard(dropped.stderr);
            this.#settle();
        });
        // Aborted while the job directory was being made: the listener came too late to hear it.
        if (this.#options.signal?.aborted) {
            this.#stop('cancelled');
        }
    }

    #stop(why: RunOutcome): void {
        if (this.#exited === undefined && this.#outcome === 'exited') {
            this.#outcome = why;
        }
        this.#killTree();
    }

    #killTree(): void {
        this.#killed = true;
        this.#killGroupWhenArmed();
        // A process stuck in the kernel or a pipe held by an escaped process must not hang the worker.
        this.#grace ??= setTimeout(() => {
            if (this.#process.kill) {
                this.#process.kill();
            }
            else if (this.#pid !== undefined) {
                killGroup(this.#pid);
            }
            this.#process.abandon();
            this.#settle();
        }, CLOSE_GRACE_MS);
    }

    /**
     * Kills the group once the sandbox has said it is ready, or the process has exited. Before
     * that, bwrap may not have armed --die-with-parent in the new session yet, and the program
     * would outlive bwrap; the ready byte comes a few milliseconds after the start.
     */
    #killGroupWhenArmed(): void {
        if (this.#process.kill) {
            this.#process.kill();
        }
        else if (this.#pid !== undefined && (this.#ready || this.#exited !== undefined)) {
            killGroup(this.#pid);
        }
    }

    #settle(): void {
        const { stdout, stderr } = this.#output;
        stdout.end();
        stderr.end();
        if (!this.#ready && this.#outcome === 'exited') {
            const detail = stderr.text.trim().split('\n')[0] || 'no output';
            this.#finish(new SandboxStartError(`the sandbox did not start: ${detail}`));
            return;
        }
        this.#finish({
            exitCode: this.#outcome === 'exited' ? (this.#exited?.code ?? null) : null,
            stdout: stdout.text,
            stderr: stderr.text,
            truncated: stdout.truncated || stderr.truncated,
            durationMs: Math.round((this.#exited?.at ?? performance.now()) - this.#started),
            outcome: this.#outcome
        });
    }

    #finish(result: RunResult | Error): void {
        if (this.#settled) {
            return;
        }
        this.#settled = true;
        clearTimeout(this.#deadline);
        clearTimeout(this.#grace);
        this.#options.signal?.removeEventListener('abort', this.#onAbort);
        this.#done(result);
    }
}

/**
 * Starts the invocation (through the launcher) as the leader of a new
 * session and process group, feeds stdin, collects capped output, and kills
 * the whole group at the deadline, on abort, or once the program itself
 * exits. Resolves when the process has exited and its pipes are closed.
 * Rejects with {@link SandboxStartError} when the process cannot be started
 * or ends before the sandbox signalled readiness on fd 3.
 */
export function supervise(invocation: Invocation, options: SuperviseOptions): Promise<RunResult> {
    const launch = (capBytes: number) => options.launcher({ invocation, stdin: options.stdin ?? '', identity: options.identity, capBytes });
    return superviseLaunch(launch, `cannot spawn ${invocation.file}`, options);
}

/**
 * As {@link supervise}, for a process started by `launch` (given the bytes of
 * each stream to keep); `failure` says what could not start when it throws.
 */
export function superviseLaunch(
    launch: (capBytes: number) => LaunchedProcess,
    failure: string,
    options: Omit<SuperviseOptions, 'launcher' | 'identity'>
): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        let launched: LaunchedProcess;
        try {
            // One byte past the cap marks the output cut even when the pipes never close.
            launched = launch(OUTPUT_CAP_BYTES + 1);
        }
        catch (cause) {
            reject(new SandboxStartError(failure, { cause }));
            return;
        }
        const supervision = new Supervision(launched, options, (result) => {
            if (result instanceof Error) reject(result);
            else resolve(result);
        });
        supervision.start();
    });
}
