// Jobs benchmark (issue: submit→finished p50 ≤ 150 ms for print(1) at low load, ≥ 140 jobs/s for
// 200 print(1) jobs; the replaced system did 28 jobs/s). The API runs in this process on PostgreSQL,
// one collab-worker process runs the jobs in bubblewrap with its default concurrency (twice the CPU
// count, or BENCH_WORKER_CONCURRENCY). CPU per job is reported for the worker process, its spawner
// (not the sandboxes it starts), this process (API + bench), the worker's whole process tree (with
// the fork servers and every job they reaped; in fresh mode part of bwrap's processes are not reaped
// inside the tree and escape it) and the PostgreSQL backends of the benchmark's database; their sum
// (accounted) holds whatever else runs, while the host's busy time counts every tenant of the
// machine, so it is only meaningful on an otherwise idle host.
// In forkserver mode a user's script then runs 1,000 jobs through the SDK as one user within the
// default quota (bench/jobs-script.ts; BENCH_SCRIPT_JOBS, 0 skips it).
// A job is finished when its terminal status reaches its Redis update channel (what the live
// subscription relays), so no polling interval is measured.
// BENCH_SANDBOX=none measures the pipeline without bubblewrap, for comparison only.
// Both sandbox modes (COLLAB_SANDBOX_MODE fresh and forkserver) run the same burst in one run, one
// worker process each, and the ratio is printed (BENCH_MODES=fresh or =forkserver runs one).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { jobKeys, loadConfig, migrateLatest, parseJobUpdate } from '@collab/core';
import { createServer } from '@collab/server';
import { CgroupHost, runProgram } from '@collab/worker';
import { Redis } from 'ioredis';
import knex from 'knex';

import { createEmptyDatabase } from '../test/helpers/database.js';
import { cleanRedis } from '../test/helpers/server.js';
import { childrenOf } from '../test/helpers/proc.js';
import { cpuBetween, hostBusyMs, processCpuMs, processRssMb, treeCpuMs } from './proc-cpu.js';
import { until } from '../test/helpers/wait.js';

// The built worker, as production runs it (`npm run bench:jobs` builds first); from source otherwise.
// BENCH_WORKER_BIN runs another collab-worker (e.g. an older revision's bin.ts or bin.js) to compare.
const BUILT_BIN = fileURLToPath(new URL('../packages/worker/dist/bin.js', import.meta.url));
const SOURCE_BIN = fileURLToPath(new URL('../packages/worker/src/bin.ts', import.meta.url));
const workerBin = process.env.BENCH_WORKER_BIN ?? (existsSync(BUILT_BIN) && process.env.BENCH_WORKER_FROM !== 'source' ? BUILT_BIN : SOURCE_BIN);
const WORKER_ARGS = workerBin.endsWith('.ts') ? ['--conditions=source', '--import', 'tsx', workerBin] : [workerBin];
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 50);
const BURST = Number(process.env.BENCH_BURST ?? 200);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 50);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `collab-bench-${randomBytes(4).toString('hex')}:`;

const database = await createEmptyDatabase();
const env = {
    NODE_ENV: process.env.BENCH_SANDBOX === 'none' ? 'development' : 'production',
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    JWT_SECRET: randomBytes(32).toString('hex'),
    COLLAB_SANDBOX: process.env.BENCH_SANDBOX ?? 'bwrap',
    LOG_LEVEL: 'warn',
    PORT: '0',
    RATE_LIMIT_USER: '100000000',
    RATE_LIMIT_IP: '100000000',
    RATE_LIMIT_AUTH: '100000000',
    // The burst submits more jobs at once than one user's quota allows.
    JOBS_MAX_ACTIVE_PER_USER: '100000000'
};
const config = loadConfig(env);
const db = knex({ client: 'pg', connection: database.url, pool: { min: 0, max: 10 } });
await migrateLatest(db);

// e.g. BENCH_WORKER_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the worker
const WORKER_NODE_OPTIONS = (process.env.BENCH_WORKER_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
type Mode = 'fresh' | 'forkserver';
const MODES = (process.env.BENCH_MODES ?? 'fresh,forkserver').split(',') as Mode[];
function startWorker(mode: Mode) {
    return spawn(process.execPath, [...WORKER_NODE_OPTIONS, ...WORKER_ARGS], {
        env: { PATH: process.env.PATH, ...env, COLLAB_SANDBOX_MODE: mode, ...(process.env.BENCH_WORKER_CONCURRENCY ? { WORKER_CONCURRENCY: process.env.BENCH_WORKER_CONCURRENCY } : {}) },
        stdio: ['ignore', 'ignore', 'inherit']
    });
}
async function stopWorker(worker: ReturnType<typeof startWorker>): Promise<void> {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
}
const server = await createServer({ config, db });
await server.start();
const base = server.info.uri;
// The same API with the default quota, for the user's script.
const quotaServer = await createServer({ config: loadConfig({ ...env, JOBS_MAX_ACTIVE_PER_USER: undefined }), db });
await quotaServer.start();
const SCRIPT_JOBS = Number(process.env.BENCH_SCRIPT_JOBS ?? 1000);
const SCRIPT_NODE_OPTIONS = (process.env.BENCH_SCRIPT_NODE_OPTIONS ?? '').split(' ').filter(Boolean);

const finishedAt = new Map<string, number>();
const waiters = new Map<string, () => void>();
const subscriber = new Redis(REDIS_URL);
subscriber.on('pmessage', (_pattern, _channel, message) => {
    const update = parseJobUpdate(message);
    if (update?.type === 'status' && !['queued', 'running'].includes(update.status)) {
        finishedAt.set(update.job_id, performance.now());
        waiters.get(update.job_id)?.();
    }
});
await subscriber.psubscribe(`${jobKeys(prefix).updatesPrefix}*`);

const json = { 'content-type': 'application/json' };
const email = `bench-${randomBytes(3).toString('hex')}@example.com`;
const scriptUser = { email: `script-${randomBytes(3).toString('hex')}@example.com`, password: 'benchmark password' };
await fetch(`${base}/api/auth/register/`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: 'benchmark password' }) });
await fetch(`${base}/api/auth/register/`, { method: 'POST', headers: json, body: JSON.stringify(scriptUser) });
const { access } = await (await fetch(`${base}/api/auth/login/`, { method: 'POST', headers: json, body: JSON.stringify({ email, password: 'benchmark password' }) })).json() as { access: string };
const headers = { ...json, authorization: `Bearer ${access}` };

async function submit(): Promise<{ id: string; sentAt: number; acceptedAt: number }> {
    const sentAt = performance.now();
    const res = await fetch(`${base}/api/jobs/submit/`, { method: 'POST', headers, body: JSON.stringify({ language: 'python', code: 'print(1)' }) });
    const body = await res.json() as { job_id: string };
    if (res.status !== 202) {
        throw new Error(`submit answered ${res.status}: ${JSON.stringify(body)}`);
    }

    return { id: body.job_id, sentAt, acceptedAt: performance.now() };
}

/** bench/jobs-script.ts as a user runs it, against the API with the default quota: its JSON line, with the CPU the API and the worker spent. */
async function userScript(workerPid: number): Promise<Record<string, unknown>> {
    const before = { api: processCpuMs(process.pid), worker: treeCpuMs(workerPid), postgres: await postgresCpu() };
    const script = fileURLToPath(new URL('./jobs-script.ts', import.meta.url));
    const child = spawn(process.execPath, [...SCRIPT_NODE_OPTIONS, '--conditions=source', '--import', 'tsx', script], {
        env: { PATH: process.env.PATH, COLLAB_SERVER: quotaServer.info.uri, COLLAB_EMAIL: scriptUser.email, COLLAB_PASSWORD: scriptUser.password, SCRIPT_JOBS: String(SCRIPT_JOBS) },
        stdio: ['ignore', 'pipe', 'inherit']
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    if (code !== 0) {
        throw new Error(`the user's script exited ${String(code)}`);
    }
    const perJob = (ms: number) => Math.round((ms / SCRIPT_JOBS) * 10) / 10;
    return {
        ...JSON.parse(out) as Record<string, unknown>,
        api_ms_per_job: perJob(processCpuMs(process.pid) - before.api),
        worker_tree_ms_per_job: perJob(cpuBetween(before.worker, treeCpuMs(workerPid))),
        postgres_backends_ms_per_job: perJob(cpuBetween(before.postgres, await postgresCpu()))
    };
}

/** The worker's spawner (the Python process that starts its sandboxes), if it runs one. */
function spawnerPid(workerPid: number): number | undefined {
    return childrenOf(workerPid).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('python'));
}

/** CPU of the PostgreSQL backends serving the benchmark's database (the API's and the worker's connections), by pid. */
async function postgresCpu(): Promise<Map<number, number>> {
    const rows: Array<{ pid: number }> = await db('pg_stat_activity').select('pid').where('datname', db.raw('current_database()'));
    return new Map(rows.map(({ pid }) => [pid, processCpuMs(pid)]));
}

function done(id: string): Promise<void> {
    return finishedAt.has(id) ? Promise.resolve() : new Promise((resolve) => waiters.set(id, resolve));
}

function stats(samples: number[]) {
    const sorted = [...samples].sort((a, b) => a - b);
    const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! * 10) / 10;
    return { p50_ms: at(0.5), p95_ms: at(0.95), p99_ms: at(0.99), max_ms: at(1) };
}

/** One worker process in `mode`: low-load latency, then the burst, with the CPU it took. */
async function measure(mode: Mode) {
    const worker = startWorker(mode);
    try {
        await until(async () => {
            const res = await fetch(`${base}/api/jobs/languages/`, { headers });
            return res.ok && ((await res.json()) as unknown[]).length > 0;
        }, 30_000, 'the worker to advertise');

        for (let i = 0; i < 5; i++) {
            const job = await submit();
            await done(job.id);
        }

        const latency: number[] = [];
        const accept: number[] = [];
        for (let i = 0; i < SEQUENTIAL; i++) {
            const job = await submit();
            await done(job.id);
            latency.push(finishedAt.get(job.id)! - job.sentAt);
            accept.push(job.acceptedAt - job.sentAt);
        }

        const spawner = spawnerPid(worker.pid!);
        const cpuBefore = {
            host: hostBusyMs(),
            worker: processCpuMs(worker.pid!),
            api: processCpuMs(process.pid),
            spawner: spawner ? processCpuMs(spawner) : 0,
            tree: treeCpuMs(worker.pid!),
            postgres: await postgresCpu()
        };
        const started = performance.now();
        const ids: string[] = [];
        let next = 0;
        await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
            while (next < BURST) {
                next++;
                ids.push((await submit()).id);
            }
        }));
        const submittedIn = performance.now() - started;
        await Promise.all(ids.map(done));
        const elapsed = Math.max(...ids.map((id) => finishedAt.get(id)!)) - started;
        const perJob = (ms: number) => Math.round((ms / BURST) * 10) / 10;
        const workerTree = cpuBetween(cpuBefore.tree, treeCpuMs(worker.pid!));
        const postgres = cpuBetween(cpuBefore.postgres, await postgresCpu());
        const api = processCpuMs(process.pid) - cpuBefore.api;
        const cpu = {
            host_busy_ms_per_job: perJob(hostBusyMs() - cpuBefore.host),
            worker_node_ms_per_job: perJob(processCpuMs(worker.pid!) - cpuBefore.worker),
            worker_spawner_ms_per_job: spawner ? perJob(processCpuMs(spawner) - cpuBefore.spawner) : null,
            api_and_bench_ms_per_job: perJob(api),
            // the worker, its spawner, fork servers and every sandbox and job process they ran
            worker_tree_ms_per_job: perJob(workerTree),
            postgres_backends_ms_per_job: perJob(postgres),
            // what the processes above ran, whatever else runs on the host (Redis and kernel threads not included)
            accounted_ms_per_job: perJob(api + workerTree + postgres),
            worker_rss_mb: processRssMb(worker.pid!),
            load_average_1m: Math.round(loadavg()[0]! * 100) / 100
        };
        const rows: Array<{ status: string; n: string }> = await db('jobs').whereIn('id', ids).select('status').count({ n: '*' }).groupBy('status');
        const runs: Array<{ duration_ms: number }> = await db('jobs').whereIn('id', ids).select('duration_ms');
        const burst = stats(ids.map((id) => finishedAt.get(id)! - started));
        const script = mode === 'forkserver' && SCRIPT_JOBS > 0 ? { one_user_script: await userScript(worker.pid!) } : {};
        return {
            low_load: { jobs: SEQUENTIAL, submit_to_finished: stats(latency), submit_http: stats(accept) },
            throughput: {
                jobs: BURST,
                in_flight_submits: IN_FLIGHT,
                seconds: Math.round(elapsed) / 1000,
                jobs_per_second: Math.round((BURST / elapsed) * 1000 * 10) / 10,
                submits_per_second: Math.round((BURST / submittedIn) * 1000),
                burst_start_to_finished: burst,
                program_run_ms: stats(runs.map((r) => r.duration_ms)),
                statuses: Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])),
                cpu
            },
            ...script
        };
    }
    finally {
        await stopWorker(worker);
    }
}

// The ceiling without queue, database or API: runProgram alone, as many at once as the worker runs.
const cgroups = (() => {
    try {
        // the sandbox user joins each job's group, as in the worker
        return CgroupHost.open({ identity: process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined });
    }
    catch {
        return undefined;
    }
})();
async function sandboxOnly(mode: Mode, parallel: number) {
    const begin = performance.now();
    let left = BURST;
    await Promise.all(Array.from({ length: parallel }, async () => {
        while (left-- > 0) {
            await runProgram({ language: 'python', code: 'print(1)', timeoutMs: 10_000, memoryMb: 256, mode: config.sandbox, start: mode, cgroups });
        }
    }));
    return Math.round((BURST / (performance.now() - begin)) * 1000 * 10) / 10;
}

try {
    const concurrency = Number(process.env.BENCH_WORKER_CONCURRENCY || config.worker.concurrency);
    const results: Partial<Record<Mode, Awaited<ReturnType<typeof measure>> & { ceiling: Record<string, number> }>> = {};
    for (const mode of MODES) {
        const pipeline = await measure(mode);
        // BENCH_CEILING=0 skips it (e.g. to count the CPU of the pipeline alone).
        const ceiling: Record<string, number> = process.env.BENCH_CEILING === '0'
            ? {}
            : { [`runProgram_only_x${concurrency}_jobs_per_second`]: await sandboxOnly(mode, concurrency), runProgram_only_x8_jobs_per_second: await sandboxOnly(mode, 8) };
        results[mode] = { ...pipeline, ceiling };
    }
    const { fresh, forkserver } = results;
    const ratio = (a?: number, b?: number) => (a && b ? Math.round((a / b) * 100) / 100 : null);
    console.log(JSON.stringify({
        program: 'python print(1)',
        sandbox: env.COLLAB_SANDBOX,
        cpus: availableParallelism(),
        worker: process.env.BENCH_WORKER_BIN ?? (WORKER_ARGS.at(-1)!.endsWith('.js') ? 'built (dist/bin.js)' : 'source (tsx)'),
        worker_concurrency: concurrency,
        ...results,
        forkserver_over_fresh: {
            jobs_per_second: ratio(forkserver?.throughput.jobs_per_second, fresh?.throughput.jobs_per_second),
            burst_p50_lower_by: ratio(fresh?.throughput.burst_start_to_finished.p50_ms, forkserver?.throughput.burst_start_to_finished.p50_ms),
            low_load_p50_lower_by: ratio(fresh?.low_load.submit_to_finished.p50_ms, forkserver?.low_load.submit_to_finished.p50_ms),
            host_cpu_per_job_lower_by: ratio(fresh?.throughput.cpu.host_busy_ms_per_job, forkserver?.throughput.cpu.host_busy_ms_per_job)
        },
        targets: { one_user_script_jobs_per_second: 115, forkserver_jobs_per_second: 120, forkserver_over_fresh: 3, host_cpu_ms_per_job: 8, low_load_p50_ms: 20, burst_p50_lower_by: 5 }
    }, null, 2));
}
finally {
    await cgroups?.close();
    subscriber.disconnect();
    await quotaServer.stop({ timeout: 2000 });
    await server.stop({ timeout: 2000 });
    await db.destroy();
    await cleanRedis(prefix);
    await database.drop();
}
