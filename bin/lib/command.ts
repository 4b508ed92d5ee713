import { InvalidArgumentError, type Command } from 'commander';
import { pathProblem } from '@collab/protocol';

import { Context, type GlobalOptions } from './context.js';
import { explain, type Situation } from './errors.js';
import { print, type Output } from './output.js';

/** What a command does: with its context, positional arguments and options, it returns its output. */
export type Run<A extends unknown[], O> = (ctx: Context, args: A, options: O) => Promise<Output>;

/**
 * A commander action that runs a command and prints what it returns (for people, or as JSON),
 * or one sentence on stderr with a non-zero exit code. `action` names what the command does
 * (e.g. `show project 3`) for error sentences.
 */
export function action<A extends unknown[], O = Record<string, never>>(describe: (...args: A) => string, run: Run<A, O>): (...raw: unknown[]) => Promise<void> {
    return async (...raw) => {
        const command = raw[raw.length - 1] as Command;
        const args = raw.slice(0, -2) as A;
        const globals = command.optsWithGlobals<GlobalOptions>();
        const situation: Situation = { server: globals.server ?? process.env.COLLAB_SERVER ?? '', action: describe(...args), credentials: 'none' };
        try {
            const ctx = new Context(globals);
            situation.server = ctx.server;
            situation.credentials = ctx.credentials;
            print(await run(ctx, args, command.opts<O & object>()), ctx.json);
        }
        catch (err) {
            const { message, exitCode } = explain(err, situation);
            process.stderr.write(`${message}\n`);
            process.exitCode = exitCode;
        }
    };
}

/** The help text after a command's options: its examples. */
export function examples(...lines: string[]): string {
    return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

/** Parses a positive integer id argument (a usage error otherwise). */
export function parseId(value: string): number {
    const id = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(id) || id < 1) {
        throw new InvalidArgumentError('expected a positive integer id.');
    }

    return id;
}

/** Checks a workspace file path argument (a usage error naming what is wrong otherwise). */
export function parsePath(value: string): string {
    const problem = pathProblem(value);
    if (problem) {
        throw new InvalidArgumentError(`the path ${problem}.`);
    }

    return value;
}

/** Parses a non-negative integer option. */
export function parseCount(value: string): number {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
        throw new InvalidArgumentError('expected a non-negative integer.');
    }

    return n;
}
