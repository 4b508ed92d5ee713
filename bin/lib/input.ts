import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

import { CliError, UsageError } from './errors.js';

/** Reads all of stdin as UTF-8 text. */
export async function readStdin(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) {
        chunks.push(chunk as Buffer);
    }

    return Buffer.concat(chunks).toString('utf8');
}

/** Reads the first line of stdin (without its line ending). */
export async function readStdinLine(): Promise<string | undefined> {
    const rl = createInterface({ input: process.stdin, terminal: false });
    try {
        for await (const line of rl) {
            return line;
        }

        return undefined;
    }
    finally {
        rl.close();
    }
}

/** Where a command's text comes from: `--file F`, `--content C` / `--code C`, or `-` for stdin. */
export interface SourceOptions {
    file?: string;
    inline?: string;
    inlineFlag: string;
    dash?: string;
}

/** Reads the one source given; a usage error when none or several are. */
export async function readSource({ file, inline, inlineFlag, dash }: SourceOptions): Promise<string> {
    if (dash !== undefined && dash !== '-') {
        throw new UsageError(`Unexpected argument ${dash}: use - to read from stdin`);
    }

    const given = [file !== undefined, inline !== undefined, dash !== undefined].filter(Boolean).length;
    if (given !== 1) {
        throw new UsageError(`Give exactly one of --file F, ${inlineFlag} or - (stdin)`);
    }

    if (inline !== undefined) {
        return inline;
    }

    if (dash !== undefined) {
        return readStdin();
    }

    try {
        return await readFile(file!, 'utf8');
    }
    catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new CliError(`Cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`);
    }
}
