import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built binary (`npx tsc -b packages/sdk bin`). */
export const CLI = fileURLToPath(new URL('../../bin/dist/collab.js', import.meta.url));

/** A finished run of `collab`. */
export interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** A `collab` process still running (e.g. `ws tail`). */
export interface Running {
    process: ChildProcess;
    stdout(): string;
    stderr(): string;
    /** Lines of stdout so far. */
    lines(): string[];
    exited: Promise<Run>;
}

/** A fresh home directory for one CLI user (its config under `config/`). */
export function makeHome(): string {
    return mkdtempSync(join(tmpdir(), 'collab-cli-'));
}

/** Starts the built `collab` with its own config directory; `input` goes to stdin. */
export function start(home: string, args: string[], { input = '', env = {} }: { input?: string; env?: Record<string, string> } = {}): Running {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.stdin.end(input);
    const exited = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { process: child, stdout: () => stdout, stderr: () => stderr, lines: () => stdout.split('\n').filter(Boolean), exited };
}

/** Runs the built `collab` to its end. */
export function collab(home: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
    return start(home, args, options).exited;
}

/** Polls `check` until it returns something truthy. */
export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string, detail: () => string = () => ''): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value) {
            return value;
        }

        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}${detail() ? `\n${detail()}` : ''}`);
        }

        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}
