import { spawn, type ChildProcess } from 'node:child_process';

/** A child process with its output collected. */
export interface Child {
    process: ChildProcess;
    stdout(): string;
    stderr(): string;
    /** Resolves with the exit code (or the signal's name). */
    exited: Promise<number | string>;
}

/** Spawns a command, collecting its output. */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Child {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    child.stderr!.on('data', (chunk) => (err += chunk));
    if (options.input !== undefined) {
        child.stdin!.end(options.input);
    }

    const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    return { process: child, stdout: () => out, stderr: () => err, exited };
}

/** Waits until `check` returns a value, polling. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value) {
            return value;
        }

        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }

        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
    const { createServer } = await import('node:net');
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as { port: number };
            server.close(() => resolve(port));
        });
        server.on('error', reject);
    });
}
