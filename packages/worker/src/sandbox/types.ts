import type { Language } from '../languages.js';
import type { CgroupHost } from './cgroups.js';
import type { SandboxStart } from './forkserver.js';
import type { Launcher } from './launch.js';

/** Which isolation a run gets: `bwrap` in production, `none` for development only. */
export type SandboxMode = 'bwrap' | 'none';

/** The streams a program writes. */
export type OutputStream = 'stdout' | 'stderr';

/** What to run and within which bounds. */
export interface RunSpec {
    /** Language of `code`. */
    language: Language;
    /** The program's source. */
    code: string;
    /** Written to the program's stdin, which is then closed. */
    stdin?: string;
    /** Wall-clock limit; the whole process tree is killed when it passes. */
    timeoutMs: number;
    /** Memory of the whole job, every process together (its cgroup), and each process's address space or heap. */
    memoryMb: number;
    /** Isolation; `none` runs the interpreter directly and must never be used in production. */
    mode: SandboxMode;
    /** Aborting kills the program; the result's outcome is then `cancelled`. */
    signal?: AbortSignal;
    /** Called with each decoded piece of output kept within the cap, as it arrives. */
    onOutput?: (stream: OutputStream, chunk: string) => void;
    /** How the sandbox process is started (default: the spawner, or node's spawn without the system Python). */
    launcher?: Launcher;
    /** Where the job's cgroup is made (the worker's, from setUpSandboxHost); none when absent. */
    cgroups?: CgroupHost;
    /** Size of everything the program can write, working directory and /tmp together (bwrap mode; default 64). */
    diskMb?: number;
    /**
     * How the bwrap sandbox is made (COLLAB_SANDBOX_MODE): `forkserver` forks the job from its
     * language's fork server (python; other languages start fresh), `fresh` (the default) starts
     * bwrap and the interpreter anew.
     */
    start?: SandboxStart;
}

/** How a run ended. */
export type RunOutcome = 'exited' | 'timed_out' | 'cancelled';

/** The result of a run; a non-zero exit is data, not an error. */
export interface RunResult {
    /** The program's exit code; null when it was killed by a signal. */
    exitCode: number | null;
    /** Up to 64 KiB of standard output. */
    stdout: string;
    /** Up to 64 KiB of standard error. */
    stderr: string;
    /** True when either stream was cut at its cap. */
    truncated: boolean;
    /** Wall time from start to the end of the program, in milliseconds. */
    durationMs: number;
    /** Whether the program ended by itself, by the wall clock, or by cancellation. */
    outcome: RunOutcome;
    /** The most memory the job's processes used at once, when it ran in a cgroup that reports it. */
    peakMemoryBytes?: number;
}
