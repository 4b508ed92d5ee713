import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants } from 'node:fs';
import type { Socket } from 'node:net';

import { SandboxStartError } from './errors.js';
import type { LaunchedProcess, LaunchEvents, LaunchRequest, Launcher } from './launch.js';
import { pythonSource } from './python-files.js';

/** The interpreter the spawner runs on: the system's, the one python jobs use. */
export const SPAWNER_PYTHON = '/usr/bin/python3';

/** A fork server the spawner starts (zygote.py in its sandbox) and hands jobs to. */
export interface ForkServerDefinition {
    /** The sandbox command that runs the server. */
    file: string;
    args: string[];
    env: Record<string, string>;
    cwd: string;
    /** The server's program, readable on its fd 4. */
    script: string;
    /** The seccomp filter each job installs. */
    seccomp: Buffer;
}

/** One job for a fork server. */
export interface ForkRequest {
    /** Which fork server (its definition is sent the first time). */
    key: string;
    definition: () => ForkServerDefinition;
    code: string;
    stdin: string;
    capBytes: number;
    /** RLIMIT_CPU, NPROC, FSIZE, NOFILE, AS. */
    limits: [number, number, number, number, number];
    diskBytes: number;
    /** `cgroup.procs` files of the job's groups, opened by the spawner and joined by the job. */
    cgroupProcs: readonly string[];
}

type Message =
    | { id: number; pid: number }
    | { id: number; error: string }
    | { id: number; fd: 1 | 2; data: string }
    | { id: number; ready: true }
    | { id: number; exit: number }
    | { id: number; closed: true; dropped: [number, number] };

/**
 * The worker's side of the spawner process (python/spawner.py): one
 * long-lived Python process, started as the sandbox user, that starts the
 * sandbox processes and relays their output. It holds the event loop open
 * only while processes run; if it dies, their runs fail with
 * SandboxStartError and the next launch starts a new one.
 */
export class Spawner {
    readonly #child: ChildProcess;
    readonly #running = new Map<number, LaunchedProcess>();
    readonly #forkServers = new Set<string>();
    #nextId = 1;
    #pending = '';
    #dead: Error | undefined;

    constructor(identity: { uid: number; gid: number } | undefined) {
        this.#child = spawn(SPAWNER_PYTHON, ['-I', '-S', '-c', pythonSource('spawner.py')], {
            cwd: '/',
            env: {},
            stdio: ['pipe', 'pipe', 'inherit'],
            ...identity
        });
        this.#child.stdout!.setEncoding('utf8');
        this.#child.stdout!.on('data', (text: string) => this.#onData(text));
        this.#child.stdin!.on('error', () => undefined);
        this.#child.once('error', (error) => this.#fail(error));
        this.#child.once('exit', (code, signal) => this.#fail(new Error(`the spawner exited (${signal ?? code})`)));
        this.#hold(false);
    }

    /** Whether it can take launches (it has not exited). */
    get alive(): boolean {
        return this.#dead === undefined;
    }

    /** Starts one process; see {@link Launcher}. */
    readonly launch: Launcher = (request: LaunchRequest) => {
        const { id, launched } = this.#begin();
        if (this.#dead) {
            return launched;
        }
        this.#running.set(id, launched);
        this.#hold(true);
        const { invocation } = request;
        const seccomp = invocation.seccomp?.toString('base64');
        this.#send({ id, file: invocation.file, args: invocation.args, env: invocation.env, cwd: invocation.cwd, stdin: request.stdin, cap: request.capBytes, seccomp });
        return launched;
    };

    /**
     * Starts a fork server now (it is started at its first job otherwise, and again after it
     * died), so that the first job does not wait for it.
     */
    startForkServer(key: string, definition: ForkServerDefinition): void {
        if (!this.#forkServers.has(key)) {
            this.#forkServers.add(key);
            const { seccomp, script, ...command } = definition;
            this.#send({ zygote: key, ...command, script: Buffer.from(script).toString('base64'), seccomp: seccomp.toString('base64') });
        }
    }

    /**
     * Runs one job through a fork server. Its `kill()` asks the server to kill the job's
     * PID 1, which takes every process of the job along; it emits no `spawn` (the job's PID is
     * of the fork server's namespace).
     */
    fork(request: ForkRequest): LaunchedProcess {
        const { id, launched } = this.#begin();
        let over = false;
        launched.once('exit', () => {
            over = true;
        });
        launched.kill = () => {
            if (!over) {
                over = true;
                this.#send({ id, kill: true });
            }
        };
        const abandon = launched.abandon;
        launched.abandon = () => {
            over = true;
            abandon();
        };
        if (this.#dead) {
            return launched;
        }
        this.startForkServer(request.key, request.definition());
        this.#running.set(id, launched);
        this.#hold(true);
        this.#send({
            id,
            fork: request.key,
            code: Buffer.from(request.code).toString('base64'),
            stdin: request.stdin,
            cap: request.capBytes,
            limits: request.limits,
            disk: request.diskBytes,
            cgroups: request.cgroupProcs
        });
        return launched;
    }

    /**
     * A new process handle whose `abandon()` stops its events and tells the spawner to drop
     * it; when the spawner is dead, it reports a start failure on the next tick.
     */
    #begin(): { id: number; launched: LaunchedProcess } {
        const id = this.#nextId++;
        const launched = new EventEmitter<LaunchEvents>() as LaunchedProcess;
        launched.abandon = () => {
            launched.removeAllListeners();
            this.#forget(id);
            this.#send({ id, drop: true });
        };
        const dead = this.#dead;
        if (dead) {
            process.nextTick(() => launched.emit('error', new SandboxStartError('the spawner is not running', { cause: dead })));
        }
        return { id, launched };
    }

    #send(message: object): void {
        if (!this.#dead) {
            this.#child.stdin!.write(`${JSON.stringify(message)}\n`);
        }
    }

    #onData(text: string): void {
        const lines = (this.#pending + text).split('\n');
        this.#pending = lines.pop()!;
        for (const line of lines) {
            let message: Message;
            try {
                message = JSON.parse(line) as Message;
            }
            catch {
                this.#fail(new Error(`the spawner said something unexpected: ${line.slice(0, 200)}`));
                this.#child.kill('SIGKILL');
                return;
            }
            this.#dispatch(message);
        }
    }

    #dispatch(message: Message): void {
        const launched = this.#running.get(message.id);
        if (!launched) {
            return;
        }
        if ('pid' in message) {
            launched.emit('spawn', message.pid);
        }
        else if ('error' in message) {
            this.#forget(message.id);
            launched.emit('error', new SandboxStartError(message.error));
        }
        else if ('data' in message) {
            launched.emit('data', message.fd === 1 ? 'stdout' : 'stderr', Buffer.from(message.data, 'base64'));
        }
        else if ('ready' in message) {
            launched.emit('ready');
        }
        else if ('exit' in message) {
            launched.emit('exit', message.exit);
        }
        else if ('closed' in message) {
            this.#forget(message.id);
            launched.emit('close', { stdout: message.dropped[0], stderr: message.dropped[1] });
        }
    }

    #forget(id: number): void {
        if (this.#running.delete(id) && this.#running.size === 0) {
            this.#hold(false);
        }
    }

    /** Keeps the process alive for the spawner only while something runs. */
    #hold(on: boolean): void {
        for (const handle of [this.#child, this.#child.stdin as Socket, this.#child.stdout as Socket]) {
            if (on) handle.ref();
            else handle.unref();
        }
    }

    #fail(cause: Error): void {
        if (this.#dead) {
            return;
        }
        this.#dead = cause;
        const running = [...this.#running.values()];
        this.#running.clear();
        this.#hold(false);
        for (const launched of running) {
            launched.emit('error', new SandboxStartError('the spawner stopped during the run', { cause }));
        }
    }
}

let spawner: Spawner | undefined;
let usable: boolean | undefined;

/**
 * The spawner of this process when the system Python is there (one spawner
 * per identity is all a worker needs: the identity never changes within a
 * process); a new one when the last one died.
 */
export function defaultSpawner(identity: { uid: number; gid: number } | undefined): Spawner | undefined {
    if (usable === undefined) {
        try {
            accessSync(SPAWNER_PYTHON, constants.X_OK);
            usable = true;
        }
        catch {
            usable = false;
        }
    }
    if (!usable) {
        return undefined;
    }
    if (!spawner?.alive) {
        spawner = new Spawner(identity);
    }
    return spawner;
}

/** The launcher runs use: the spawner's (see defaultSpawner), else node's own spawn. */
export function defaultLauncher(identity: { uid: number; gid: number } | undefined): Launcher | undefined {
    return defaultSpawner(identity)?.launch;
}
