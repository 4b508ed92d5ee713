import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';

import type { Invocation } from './command.js';
import { SandboxStartError } from './errors.js';
import type { OutputStream } from './types.js';

/** What a started process reports, in this order: spawn, data and ready, exit, close. */
export interface LaunchEvents {
    /** Started, as the leader of a new session and process group. */
    spawn: [pid: number];
    data: [stream: OutputStream, chunk: Buffer];
    /** A byte arrived on fd 3: the sandbox is up with its limits. */
    ready: [];
    /** Its exit code; 128 + the signal number when a signal killed it. */
    exit: [code: number];
    /** It exited and its pipes are closed; `dropped` counts bytes read past the cap and not delivered. */
    close: [dropped: Record<OutputStream, number>];
    /** It could not be started (a {@link SandboxStartError}) or its launcher failed. */
    error: [error: Error];
}

/** One process started by a {@link Launcher}. */
export interface LaunchedProcess extends EventEmitter<LaunchEvents> {
    /** Stops reading its pipes (something it left running holds them): no more events. */
    abandon(): void;
    /** Kills the whole run, where its launcher can (a fork server's job); else its process group is killed. */
    kill?(): void;
}

/** What to start, with what on stdin, and as which user. */
export interface LaunchRequest {
    invocation: Invocation;
    stdin: string;
    identity: { uid: number; gid: number } | undefined;
    /** Bytes of each stream the supervisor keeps: a launcher need not deliver more (it reports what it dropped on close). */
    capBytes: number;
}

/** Starts sandbox processes. */
export type Launcher = (request: LaunchRequest) => LaunchedProcess;

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
    // As a shell (and bwrap) reports a death by signal.
    return code ?? 128 + (signal ? osConstants.signals[signal] : 0);
}

/**
 * Starts the process with node's own spawn: a fork of the worker, which
 * blocks its event loop until the child has exec'd, longer the bigger the
 * worker. The fallback when the spawner cannot run.
 */
export const spawnDirectly: Launcher = (request) => {
    const launched = new EventEmitter<LaunchEvents>() as LaunchedProcess;
    const { invocation } = request;
    const child = spawn(invocation.file, invocation.args, {
        cwd: invocation.cwd,
        env: invocation.env,
        detached: true,
        // fd 4, when there is a filter: bwrap's --seccomp reads it
        stdio: invocation.seccomp ? ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'],
        ...request.identity
    });
    const streams = [child.stdin!, child.stdout!, child.stderr!, child.stdio[3] as Readable];
    for (const stream of streams) {
        stream.on('error', () => undefined);
    }
    if (invocation.seccomp) {
        const filter = child.stdio[4] as Writable;
        filter.on('error', () => undefined);
        filter.end(invocation.seccomp);
    }
    // Every chunk goes on: the supervisor's CappedOutput keeps the first bytes and counts the rest.
    child.stdout!.on('data', (chunk: Buffer) => launched.emit('data', 'stdout', chunk));
    child.stderr!.on('data', (chunk: Buffer) => launched.emit('data', 'stderr', chunk));
    streams[3]!.once('data', () => launched.emit('ready'));
    child.stdin!.end(request.stdin);
    child.once('spawn', () => launched.emit('spawn', child.pid!));
    child.once('error', (cause) => {
        if (child.pid === undefined) {
            launched.emit('error', new SandboxStartError(`cannot spawn ${invocation.file}`, { cause }));
        }
    });
    child.once('exit', (code, signal) => launched.emit('exit', exitCodeOf(code, signal)));
    child.once('close', () => launched.emit('close', { stdout: 0, stderr: 0 }));
    launched.abandon = () => {
        launched.removeAllListeners();
        for (const stream of streams) {
            stream.destroy();
        }
    };
    return launched;
};
