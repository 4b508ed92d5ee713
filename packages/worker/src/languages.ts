import { execFile } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import path from 'node:path';

/** A language the worker knows how to run. */
export type Language = 'python' | 'javascript' | 'bash';

/** Every language in the table, in a stable order. */
export const LANGUAGES: readonly Language[] = ['python', 'javascript', 'bash'];

/** Resource limits applied (by dash's `ulimit`, or `prlimit` without dash) to one run of a program. */
export interface Rlimits {
    /** RLIMIT_CPU, seconds of CPU time. */
    cpuSeconds: number;
    /** RLIMIT_NPROC: processes and threads of the sandbox uid in its user namespace. */
    nproc: number;
    /** RLIMIT_FSIZE: the largest file the program may write, in bytes. */
    fileSizeBytes: number;
    /** RLIMIT_NOFILE: open file descriptors. */
    openFiles: number;
    /** RLIMIT_AS: address space in bytes. */
    addressSpaceBytes: number;
}

/** How to run one language. */
export interface LanguageSpec {
    /** The language name as the API spells it. */
    language: Language;
    /** Absolute path of the interpreter (a real file, symlinks resolved where it matters). */
    interpreter: string;
    /** Name of the source file in the job directory. */
    fileName: string;
    /** Directories the interpreter needs that are not under `/usr`; bound read-only. */
    extraReadOnlyPaths: readonly string[];
    /** The command line that runs `fileName` from the working directory. */
    command(memoryMb: number): string[];
    /** Arguments that make the interpreter print its version. */
    versionArgs: readonly string[];
    /** Extracts the version from the output of `versionArgs`. */
    parseVersion(output: string): string | undefined;
    /** The rlimits for a run with this wall-clock timeout and memory budget. */
    limits(timeoutMs: number, memoryMb: number): Rlimits;
    /** The fork server that runs this language's jobs in forkserver mode (sandbox/python); fresh starts without one. */
    forkServer?: 'zygote.py';
}

const MiB = 1024 * 1024;

/**
 * Address space node needs beyond its heap: V8 reserves code and heap ranges
 * and every thread reserves a stack and a malloc arena. Measured ~750 MiB with
 * `--v8-pool-size=2`; the pool size keeps the thread count independent of the
 * host's cores.
 */
const NODE_RESERVED_MB = 1536;

/**
 * Memory of a node process besides its old space (code, young generation,
 * buffers of node itself), measured ~40 MiB: the heap limit leaves it room,
 * so a program that fills its heap gets V8's own error before the job's
 * cgroup limit makes the kernel kill it.
 */
const NODE_BESIDES_HEAP_MB = 48;

/** V8's old-space limit for a javascript job of `memoryMb`. */
export function nodeHeapMb(memoryMb: number): number {
    return Math.max(Math.floor(memoryMb / 2), memoryMb - NODE_BESIDES_HEAP_MB);
}

function baseLimits(timeoutMs: number, memoryMb: number): Rlimits {
    return {
        cpuSeconds: Math.ceil(timeoutMs / 1000) + 1,
        nproc: 64,
        fileSizeBytes: 16 * MiB,
        openFiles: 64,
        addressSpaceBytes: memoryMb * MiB
    };
}

function firstExecutable(candidates: readonly string[]): string {
    for (const candidate of candidates) {
        try {
            accessSync(candidate, constants.X_OK);
            return candidate;
        }
        catch {
            // try the next one
        }
    }
    return candidates[0]!;
}

function nodeBinary(): { interpreter: string; extra: string[] } {
    const interpreter = realpathSync(process.execPath);
    if (interpreter.startsWith('/usr/')) {
        return { interpreter, extra: [] };
    }
    // e.g. /opt/node/bin/node: bind the whole install prefix (bin/ and lib/).
    return { interpreter, extra: [path.dirname(path.dirname(interpreter))] };
}

function buildTable(): Record<Language, LanguageSpec> {
    const node = nodeBinary();
    const bash = firstExecutable(['/usr/bin/bash', '/bin/bash']);
    return {
        python: {
            language: 'python',
            interpreter: '/usr/bin/python3',
            fileName: 'main.py',
            extraReadOnlyPaths: [],
            command: () => ['/usr/bin/python3', '-u', 'main.py'],
            versionArgs: ['--version'],
            parseVersion: (out) => /Python (\S+)/.exec(out)?.[1],
            limits: baseLimits,
            forkServer: 'zygote.py'
        },
        javascript: {
            language: 'javascript',
            interpreter: node.interpreter,
            fileName: 'main.js',
            extraReadOnlyPaths: node.extra,
            command: (memoryMb) => [
                node.interpreter,
                '--v8-pool-size=2',
                `--max-old-space-size=${nodeHeapMb(memoryMb)}`,
                'main.js'
            ],
            versionArgs: ['--version'],
            parseVersion: (out) => /v?(\d+\.\d+\.\d+)/.exec(out)?.[1],
            limits: (timeoutMs, memoryMb) => ({
                ...baseLimits(timeoutMs, memoryMb),
                // node's threads count against RLIMIT_NPROC
                nproc: 128,
                openFiles: 128,
                addressSpaceBytes: (memoryMb + NODE_RESERVED_MB) * MiB
            })
        },
        bash: {
            language: 'bash',
            interpreter: bash,
            fileName: 'main.sh',
            extraReadOnlyPaths: [],
            command: () => [bash, 'main.sh'],
            versionArgs: ['--version'],
            parseVersion: (out) => /version (\d+\.\d+(?:\.\d+)?)/.exec(out)?.[1],
            limits: baseLimits
        }
    };
}

let table: Record<Language, LanguageSpec> | undefined;

/** Whether `value` names a language of the table. */
export function isLanguage(value: string): value is Language {
    return (LANGUAGES as readonly string[]).includes(value);
}

/** The spec of one language; throws a RangeError for an unknown name. */
export function getLanguage(language: string): LanguageSpec {
    if (!isLanguage(language)) {
        throw new RangeError(`unknown language "${language}" (known: ${LANGUAGES.join(', ')})`);
    }
    table ??= buildTable();
    return table[language];
}

function versionOf(spec: LanguageSpec): Promise<string | undefined> {
    return new Promise((resolve) => {
        execFile(
            spec.interpreter,
            [...spec.versionArgs],
            { timeout: 5000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } },
            (error, stdout, stderr) => {
                resolve(error ? undefined : spec.parseVersion(`${stdout}\n${stderr}`));
            }
        );
    });
}

/** The languages whose interpreter answers its version command on this host. */
export async function discoverLanguages(): Promise<Array<{ language: Language; version: string }>> {
    const found = await Promise.all(
        LANGUAGES.map(async (language) => ({ language, version: await versionOf(getLanguage(language)) }))
    );
    return found.filter((entry): entry is { language: Language; version: string } => entry.version !== undefined);
}
