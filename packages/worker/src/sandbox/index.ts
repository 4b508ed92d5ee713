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
 * network but its own `lo`), nested user namespaces refused
 * (`--disable-userns`) and a seccomp filter that answers EPERM to what no
 * program needs (ptrace, mount, bpf, keyctl, perf_event_open, userfaultfd,
 * kernel modules, reboot…); `/usr` read-only and nothing else of the host but
 * the program's source, read-only at `/work/<file>`; read-only `/` and
 * `/dev`; one tmpfs of SANDBOX_DISK_MB (default 64 MiB) as the working
 * directory `/work`, with `/tmp` a link to `/work/.tmp` in it, so both
 * together are bounded (ENOSPC past it), and another as large on `/dev/shm`
 * (POSIX semaphores and shared memory); the environment `PATH`, `HOME`,
 * `LANG`; and rlimits on CPU, processes, file size, open files, address space
 * and core files. The wall clock kills the whole process tree.
 *
 * Per job, where the host has cgroups (found by the worker at start-up,
 * {@link CgroupHost}): the job's own group bounds the memory of all its
 * processes together (no swap; the tmpfs counts too) and their number. The
 * process that starts bwrap joins the group before it execs, so every
 * process of the job is born in it; after the run the group is emptied and
 * checked empty, then kept for the next job (cgroup v1) or removed. An OOM kill makes the run a failure (137) with a note on stderr.
 *
 * RLIMIT_NPROC counts per user namespace (Linux ≥ 5.14), so each sandbox has
 * its own and a fork bomb does not starve the jobs beside it; older kernels
 * count every process of uid 65534, shared by concurrent runs.
 *
 * @packageDocumentation
 */
export { runProgram } from './run-program.js';
export { SandboxStartError } from './errors.js';
export { spawnDirectly, type Launcher, type LaunchedProcess, type LaunchEvents, type LaunchRequest } from './launch.js';
export { OUTPUT_CAP_BYTES } from './output.js';
export { SANDBOX_TMP, SANDBOX_WORKDIR, TMP_SIZE_BYTES } from './command.js';
export {
    CGROUP_PARENT,
    CGROUPS_HINT,
    CgroupHost,
    CgroupsUnavailableError,
    DEFAULT_CGROUP_ROOT,
    JobCgroup,
    type CgroupHostOptions,
    type JobCgroupLimits
} from './cgroups.js';
export { BLOCKED_SYSCALLS, seccompFilter } from './seccomp.js';
export { sweepStaleJobDirs } from './stale-job-dirs.js';
export type { OutputStream, RunOutcome, RunResult, RunSpec, SandboxMode } from './types.js';
export { warmForkServers, type SandboxStart } from './forkserver.js';
export { discoverLanguages, getLanguage, isLanguage, LANGUAGES } from '../languages.js';
export type { Language, LanguageSpec, Rlimits } from '../languages.js';
