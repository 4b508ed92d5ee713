/**
 * Reconnect storm: BENCH_SOCKETS (default 5,000) SDK clients subscribed to a
 * workspace through nginx (deploy/nginx/collab.conf) all sit on one
 * instance; two more instances start; the first is SIGKILLed. Every client
 * reconnects through nginx with the SDK's jittered backoff. Prints one JSON
 * document: how long until every client was subscribed again (p50, p99,
 * max from the kill), how many reconnect attempts failed and why, and the
 * sockets per surviving instance.
 *
 * Run: npm run bench:storm (BENCH_SOCKETS; BENCH_REDIS=cluster for a private
 * 3-master Redis Cluster instead of the shared Redis).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { CollabClient, type RealtimeStatus } from '@collab/sdk';
import WebSocket from 'ws';

import { createTestDatabase } from '../test/helpers/database.js';
import { Nginx } from '../test/helpers/nginx.js';
import { freePort } from '../test/helpers/process.js';
import { RedisCluster } from '../test/helpers/redis-cluster.js';
import { cleanRedis } from '../test/helpers/server.js';
import { makeTeam } from '../test/realtime/helpers.js';
import { clusterEnv, startInstance, type Instance } from '../test/realtime/processes.js';

const CLIENT_PROCESSES = 4;
const round = (x: number) => Math.round(x * 100) / 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ClientsJob {
    url: string;
    workspaceId: number;
    token: string;
    count: number;
}

/** What one client process saw after the kill. */
interface ClientsReport {
    /** Epoch ms at which each client was subscribed again (one entry per client that came back). */
    back: number[];
    /** Failed reconnect attempts by reason (close code or error). */
    failures: Record<string, number>;
    connected: number;
}

// ---------------------------------------------------------------- child: SDK clients
async function clients(job: ClientsJob): Promise<void> {
    const all: CollabClient[] = [];
    const back: number[] = [];
    const failures: Record<string, number> = {};
    let killed = false;
    let connected = 0;
    const onStatus = (status: RealtimeStatus, state: { down: boolean }) => {
        if (status.state === 'connected') {
            if (state.down) {
                state.down = false;
                back.push(performance.timeOrigin + performance.now());
            }
            else if (!killed) {
                connected++;
            }
        }
        else if (status.state === 'disconnected') {
            // The first disconnection is the kill itself; every later one is a failed attempt.
            if (state.down) {
                const cause = status.error?.cause as { type?: string; message?: string } | undefined;
                const why = cause ? ` (${cause.type ?? 'cause'}: ${String(cause.message).slice(0, 80)})` : '';
                const reason = status.error ? `${status.error.name} ${status.error.code}${why}` : `close ${status.code ?? '?'}`;
                failures[reason] = (failures[reason] ?? 0) + 1;
            }

            state.down = true;
        }
    };

    for (let i = 0; i < job.count; i++) {
        const client = new CollabClient({ baseUrl: job.url, token: job.token, WebSocket });
        all.push(client);
        const state = { down: false };
        await client.realtime.subscribe(job.workspaceId, () => undefined, { onStatus: (status) => onStatus(status, state) });
    }

    process.send!({ type: 'ready', connected });
    process.on('message', (message: { type: string }) => {
        if (message.type === 'killed') {
            killed = true;
        }
        else if (message.type === 'report') {
            process.send!({ type: 'report', back, failures, connected } satisfies ClientsReport & { type: string });
        }
        else if (message.type === 'close') {
            void Promise.all(all.map((client) => client.realtime.close())).then(() => process.exit(0));
        }
    });
}

function next(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`clients exited with ${code}`));
        const onMessage = (message: { type: string }) => {
            if (message.type === type) {
                child.off('message', onMessage);
                child.off('exit', onExit);
                resolve(message as Record<string, unknown>);
            }
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
    });
}

async function socketsPerInstance(instances: Instance[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const [n, instance] of instances.entries()) {
        const text = await (await fetch(`http://127.0.0.1:${instance.port}/metrics`)).text().catch(() => '');
        counts[`instance${n + 2}`] = text.split('\n').filter((line) => line.startsWith('realtime_sockets{')).reduce((sum, line) => sum + Number(line.split(' ')[1]), 0);
    }

    return counts;
}

/** nginx's error log by kind of message (upstream addresses, client ports and times taken out). */
async function nginxErrors(nginx: Nginx): Promise<Record<string, number>> {
    const kinds: Record<string, number> = {};
    for (const line of (await readFile(join(nginx.dir, 'error.log'), 'utf8').catch(() => '')).split('\n')) {
        const kind = /\[(\w+)\] \d+#\d+: (?:\*\d+ )?([^,]*)/.exec(line);
        if (kind) {
            const key = `${kind[1]}: ${kind[2]!.replace(/\d+/g, 'N')}`;
            kinds[key] = (kinds[key] ?? 0) + 1;
        }
    }

    return kinds;
}

function percentile(values: number[], q: number): number {
    const sorted = Float64Array.from(values).sort();
    return sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!) : NaN;
}

async function main(): Promise<void> {
    const sockets = Number(process.env.BENCH_SOCKETS ?? 5000);
    const database = await createTestDatabase();
    const cluster = process.env.BENCH_REDIS === 'cluster' ? await RedisCluster.start() : undefined;
    const env = clusterEnv(database.url!, {
        ...cluster ? { REDIS_CLUSTER_NODES: cluster.nodes } : {},
        NODE_ENV: 'production',
        COLLAB_SANDBOX: 'bwrap',
        TRUSTED_PROXIES: '127.0.0.1',
        WS_MAX_PER_USER: '100000',
        WS_MAX_CONNECTIONS: '100000',
        WS_MAX_ANON_PER_IP: '100000'
    });
    const ports = [await freePort(), await freePort(), await freePort()];
    const first = await startInstance({ ...env, PORT: String(ports[0]) });
    const survivors: Instance[] = [];
    // Until the others start, nginx finds only the first instance and puts every socket there.
    const nginx = await Nginx.start(ports);
    const children: ChildProcess[] = [];
    const output: Record<string, unknown> = { machine: { cpus: cpus().length, loadAverageAtStart: loadavg().map(round) }, sockets, redis: cluster ? 'cluster' : 'one Redis' };
    try {
        const team = await makeTeam(first);
        const self = fileURLToPath(import.meta.url);
        const connectStarted = performance.now();
        for (let i = 0; i < CLIENT_PROCESSES; i++) {
            const count = Math.floor(sockets / CLIENT_PROCESSES) + (i < sockets % CLIENT_PROCESSES ? 1 : 0);
            const child = fork(self, [], { env: { ...process.env, BENCH_ROLE: 'clients' }, execArgv: ['--conditions=source', '--import', 'tsx'] });
            children.push(child);
            child.send({ url: nginx.url, workspaceId: team.workspaceId, token: team.viewer.access, count } satisfies ClientsJob);
        }

        const ready = await Promise.all(children.map((child) => next(child, 'ready')));
        output.connectSeconds = round((performance.now() - connectStarted) / 1000);
        output.connectedBeforeKill = ready.reduce((sum, message) => sum + Number(message.connected), 0);

        survivors.push(...await Promise.all([startInstance({ ...env, PORT: String(ports[1]) }), startInstance({ ...env, PORT: String(ports[2]) })]));
        await sleep(6_000);        // past nginx's fail_timeout for the two that were down
        children.forEach((child) => child.send({ type: 'killed' }));
        const killedAt = performance.timeOrigin + performance.now();
        await first.kill();
        const deadline = Date.now() + 60_000;
        let reports: ClientsReport[] = [];
        for (;;) {
            children.forEach((child) => child.send({ type: 'report' }));
            reports = await Promise.all(children.map((child) => next(child, 'report'))) as unknown as ClientsReport[];
            if (reports.reduce((sum, report) => sum + report.back.length, 0) >= sockets || Date.now() > deadline) {
                break;
            }

            await sleep(500);
        }

        const backMs = reports.flatMap((report) => report.back.map((at) => at - killedAt));
        const failures: Record<string, number> = {};
        for (const report of reports) {
            for (const [reason, count] of Object.entries(report.failures)) {
                failures[reason] = (failures[reason] ?? 0) + count;
            }
        }

        output.storm = {
            back: backMs.length,
            allBack: backMs.length === sockets,
            backWithinMs: { p50: percentile(backMs, 0.5), p99: percentile(backMs, 0.99), max: percentile(backMs, 1) },
            failedAttempts: failures,
            socketsPerSurvivor: await socketsPerInstance(survivors),
            nginxErrors: await nginxErrors(nginx)
        };
    }
    finally {
        await Promise.all(children.map(async (child) => {
            if (child.exitCode !== null || child.signalCode !== null) {
                return;
            }

            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.send({ type: 'close' });
            await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
        }));
        await nginx.stop();
        await Promise.all([first.kill(), ...survivors.map((instance) => instance.stop())]);
        await cleanRedis(env.REDIS_PREFIX!);
        await cluster?.stop();
        await database.drop();
    }

    (output.machine as Record<string, unknown>).loadAverageAtEnd = loadavg().map(round);
    process.stdout.write(JSON.stringify(output, null, 2) + '\n');
}

if (process.env.BENCH_ROLE === 'clients') {
    process.once('message', (job: ClientsJob) => {
        clients(job).catch((err: Error) => {
            process.stderr.write(`clients: ${err.stack}\n`);
            process.exit(1);
        });
    });
}
else {
    await main();
}
