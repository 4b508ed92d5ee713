/**
 * The sandboxed program runner.
 *
 * Sandbox processes are started by the spawner, a small long-lived Python
 * process of the worker (node's own spawn when /usr/bin/python3 is missing),
 * which runs as uid/gid 65534 when the worker is root and passes on no
 * inherited file descriptor.
 *
 * In `bwrap` mode each run gets: bubblewrap started as uid/gid 65534 (when the
 * worker is root) with an empty environment; every namespace unshared (no
 * network but its own `lo`); `/usr` read-only and nothing else of the host
 * but the job directory at `/work`; read-only `/` and `/dev`; a 64 MiB `/tmp`
 * tmpfs (`--size` works with bwrap 0.8); the environment `PATH`, `HOME`,
 * `LANG`; and rlimits on CPU, processes, file size, open files, address space
 * and core files. The wall clock kills the whole process tree.
 *
 * RLIMIT_NPROC counts per user namespace (Linux ≥ 5.14), so each sandbox has
 * its own and a fork bomb does not starve the jobs beside it; older kernels
 * count every process of uid 65534, shared by concurrent runs.
 *
 * Known limits: the job directory lives on the host's temp
 * filesystem, so only RLIMIT_FSIZE (per file) and the timeout bound what a
 * program writes there; tmpfs pages are RAM outside RLIMIT_AS.
 *
 * @packageDocumentation
 */
export { runProgram } from './run-program.js';
export { SandboxStartError } from './errors.js';
export { spawnDirectly, type Launcher, type LaunchedProcess, type LaunchEvents, type LaunchRequest } from './launch.js';
export { OUTPUT_CAP_BYTES } from './output.js';
export { SANDBOX_WORKDIR, TMP_SIZE_BYTES } from './command.js';
export { sweepStaleJobDirs } from './stale-job-dirs.js';
export type { OutputStream, RunOutcome, RunResult, RunSpec, SandboxMode } from './types.js';
export { discoverLanguages, getLanguage, isLanguage, LANGUAGES } from '../languages.js';
export type { Language, LanguageSpec, Rlimits } from '../languages.js';
