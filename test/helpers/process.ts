import { spawn, type ChildProcess } from 'node:child_process';

/** A child process with its output collected. */
export interface Child {
    process: ChildProcess;
    stdout(): string;
    stderr(): string;
    /** Non-empty lines of stdout so far. */
    lines(): string[];
    /** Resolves with the exit code (or the signal's name) when the process exits. */
    exited: Promise<number | string>;
    /** As `exited`, once its output streams are closed too: stdout() and stderr() are then complete. */
    closed: Promise<number | string>;
}

/** What `run()` takes besides the command. */
export interface RunOptions {
    /** The whole environment of the child (default: this process's). */
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Written to stdin, which is then closed (default: stdin stays open). */
    input?: string;
    /** A process group of its own, so a test can signal the child and everything it starts (`process.kill(-pid)`). */
    detached?: boolean;
}

/** Spawns a command, collecting its output: the one way tests start a process. */
export function run(command: string, args: string[], options: RunOptions = {}): Child {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, detached: options.detached, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    child.stderr!.on('data', (chunk) => (err += chunk));
    child.stdin!.on('error', () => undefined);
    if (options.input !== undefined) {
        child.stdin!.end(options.input);
    }

    const exited = new Promise<number | string>((resolve) => {
        child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
        child.on('error', (error) => resolve(`cannot start ${command}: ${error.message}`));
    });
    const closed = new Promise<number | string>((resolve) => {
        child.on('close', (code, signal) => resolve(code ?? signal ?? -1));
        child.on('error', (error) => resolve(`cannot start ${command}: ${error.message}`));
    });
    return { process: child, stdout: () => out, stderr: () => err, lines: () => out.split('\n').filter(Boolean), exited, closed };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
    const port = await listenOnce(0);
    if (port === undefined) {
        throw new Error('no free TCP port on 127.0.0.1');
    }

    return port;
}

/** True when a listener can be opened on `port` of 127.0.0.1 now. */
export async function portIsFree(port: number): Promise<boolean> {
    return await listenOnce(port) !== undefined;
}

// Opens a listener on 127.0.0.1 (port 0: any free one) and closes it: the port it had, or undefined when it could not listen.
async function listenOnce(port: number): Promise<number | undefined> {
    const { createServer } = await import('node:net');
    return new Promise((resolve) => {
        const server = createServer();
        server.once('error', () => resolve(undefined));
        server.listen(port, '127.0.0.1', () => {
            const { port: bound } = server.address() as { port: number };
            server.close(() => resolve(bound));
        });
    });
}
