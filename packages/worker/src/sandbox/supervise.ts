import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';

import type { Invocation } from './command.js';
import { SandboxStartError } from './errors.js';
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
}

function guarded(
  onOutput: SuperviseOptions['onOutput'],
  stream: OutputStream,
): ((text: string) => void) | undefined {
  if (!onOutput) {
    return undefined;
  }
  return (text) => {
    try {
      onOutput(stream, text);
    } catch (error) {
      process.emitWarning(`sandbox onOutput callback threw: ${String(error)}`);
    }
  };
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number | null {
  if (code !== null) {
    return code;
  }
  // As a shell (and bwrap) reports a death by signal, so both modes agree.
  return signal ? 128 + osConstants.signals[signal] : null;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) {
    return;
  }
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

type Stdio = [Writable, Readable, Readable, Readable];

/** One running process: its output, its deadline and how it ended. */
class Supervision {
  readonly #child: ChildProcess;
  readonly #stdio: Stdio;
  readonly #options: SuperviseOptions;
  readonly #started = performance.now();
  readonly #stdout: CappedOutput;
  readonly #stderr: CappedOutput;
  readonly #deadline: NodeJS.Timeout;
  readonly #onAbort = (): void => this.#stop('cancelled');
  #grace: NodeJS.Timeout | undefined;
  #outcome: RunOutcome = 'exited';
  #ready = false;
  #exited: { code: number | null; at: number } | undefined;
  #settled = false;

  readonly #done: (result: RunResult | Error) => void;

  constructor(child: ChildProcess, options: SuperviseOptions, done: (result: RunResult | Error) => void) {
    this.#child = child;
    this.#done = done;
    this.#options = options;
    // stdio is ['pipe', 'pipe', 'pipe', 'pipe'], so every entry is a stream.
    this.#stdio = [child.stdin!, child.stdout!, child.stderr!, child.stdio[3] as Readable];
    this.#stdout = new CappedOutput(OUTPUT_CAP_BYTES, guarded(options.onOutput, 'stdout'));
    this.#stderr = new CappedOutput(OUTPUT_CAP_BYTES, guarded(options.onOutput, 'stderr'));
    this.#deadline = setTimeout(() => this.#stop('timed_out'), options.timeoutMs);
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  start(): void {
    const [stdin, stdout, stderr, ready] = this.#stdio;
    stdout.on('data', (chunk: Buffer) => this.#stdout.push(chunk));
    stderr.on('data', (chunk: Buffer) => this.#stderr.push(chunk));
    ready.on('data', () => {
      this.#ready = true;
    });
    for (const stream of this.#stdio) {
      stream.on('error', () => undefined);
    }
    stdin.end(this.#options.stdin ?? '');
    this.#child.once('error', (cause) => {
      if (this.#child.pid === undefined) {
        this.#finish(new SandboxStartError('cannot spawn the sandbox', { cause }));
      }
    });
    this.#child.once('exit', (code, signal) => {
      this.#exited = { code: exitCodeOf(code, signal), at: performance.now() };
      // The program is done: whatever it left running in its group goes too.
      this.#killTree();
    });
    this.#child.once('close', () => this.#settle());
  }

  #stop(why: RunOutcome): void {
    if (this.#exited === undefined && this.#outcome === 'exited') {
      this.#outcome = why;
    }
    this.#killTree();
  }

  #killTree(): void {
    killGroup(this.#child);
    // A process stuck in the kernel or a pipe held by an escaped process must not hang the worker.
    this.#grace ??= setTimeout(() => {
      for (const stream of this.#stdio) {
        stream.destroy();
      }
      this.#settle();
    }, CLOSE_GRACE_MS);
  }

  #settle(): void {
    this.#stdout.end();
    this.#stderr.end();
    if (!this.#ready && this.#outcome === 'exited') {
      const detail = this.#stderr.text.trim().split('\n')[0] || 'no output';
      this.#finish(new SandboxStartError(`the sandbox did not start: ${detail}`));
      return;
    }
    this.#finish({
      exitCode: this.#outcome === 'exited' ? (this.#exited?.code ?? null) : null,
      stdout: this.#stdout.text,
      stderr: this.#stderr.text,
      truncated: this.#stdout.truncated || this.#stderr.truncated,
      durationMs: Math.round((this.#exited?.at ?? performance.now()) - this.#started),
      outcome: this.#outcome,
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
 * Spawns the invocation as the leader of a new process group, feeds stdin,
 * collects capped output, and kills the whole group at the deadline, on
 * abort, or once the program itself exits. Resolves when the process has
 * exited and its pipes are closed. Rejects with {@link SandboxStartError}
 * when the process cannot be spawned or ends before the sandbox signalled
 * readiness on fd 3.
 */
export function supervise(invocation: Invocation, options: SuperviseOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(invocation.file, invocation.args, {
        cwd: invocation.cwd,
        env: invocation.env,
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        ...options.identity,
      });
    } catch (cause) {
      reject(new SandboxStartError(`cannot spawn ${invocation.file}`, { cause }));
      return;
    }
    const supervision = new Supervision(child, options, (result) => {
      if (result instanceof Error) reject(result);
      else resolve(result);
    });
    supervision.start();
  });
}
