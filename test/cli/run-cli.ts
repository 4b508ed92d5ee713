import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { run, type Child } from '../helpers/process.js';

/** The built binary (`npx tsc -b packages/sdk bin`). */
export const CLI = fileURLToPath(new URL('../../bin/dist/collab.js', import.meta.url));

/** A finished run of `collab`. */
export interface Run {
    /** The exit code; null when a signal ended it. */
    code: number | null;
    stdout: string;
    stderr: string;
}

/** A `collab` process still running (e.g. `ws tail`); `exited` resolves once its output is complete. */
export interface Running extends Omit<Child, 'exited'> {
    exited: Promise<Run>;
}

/** A fresh home directory for one CLI user (its config under `config/`). */
export function makeHome(): string {
    return mkdtempSync(join(tmpdir(), 'collab-cli-'));
}

/** Starts the built `collab` with its own config directory; `input` goes to stdin. */
export function start(home: string, args: string[], { input = '', env = {} }: { input?: string; env?: Record<string, string> } = {}): Running {
    const child = run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), ...env }, input });
    const exited = child.closed.then((code) => ({ code: typeof code === 'number' ? code : null, stdout: child.stdout(), stderr: child.stderr() }));
    return { ...child, exited };
}

/** Runs the built `collab` to its end. */
export function collab(home: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
    return start(home, args, options).exited;
}
