/**
 * Real-time benchmark: two collab server processes (NODE_ENV=production,
 * one PostgreSQL database, one Redis prefix) and clients in child processes.
 * Prints one JSON document:
 * - `fanout`: 200 subscribers (half nes, half plain, half on each instance),
 *   one plain publisher at 100 msg/s then 400 msg/s: delivered vs expected,
 *   order, latency (send timestamp in the payload → receipt), CPU per instance;
 * - `serialization`: frames serialized vs events and deliveries per instance;
 * - `otherWorkspaces`: the same publish to one workspace while 1 or 1,000
 *   other workspaces have subscribers;
 * - `memory`: RSS per idle authenticated socket (2,000 plain, then 2,000
 *   nes) on a third process, after GC;
 * - `connect`: connection set-up rate on a third process, 1,000
 *   authenticated sockets of 50 members opened at once, each transport in
 *   turn: conn/s and server CPU per connection (BENCH_CONNECT_SOCKETS,
 *   BENCH_CONNECT_USERS, BENCH_CONNECT_ROUNDS).
 *
 * Run: npm run bench:realtime (BENCH_SECONDS sets each fan-out phase, default 10;
 * BENCH_SECTIONS picks sections, e.g. `connect`; BENCH_CPU_PROF=DIR profiles the servers;
 * BENCH_REDIS=cluster runs everything on a private Redis Cluster of 3 masters
 * with a replica each instead of the shared Redis).
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

import { createTestDatabase } from '../test/helpers/database.js';
import { RedisCluster } from '../test/helpers/redis-cluster.js';
import { cleanRedis } from '../test/helpers/server.js';
import { makeTeam } from '../test/realtime/helpers.js';
import { clusterEnv, startInstance, type Instance } from '../test/realtime/processes.js';
import WebSocket from 'ws';

import { processCpuMs } from './proc-cpu.js';
import { now, Subscribers, type SocketSpec, type Tally } from './realtime-subscribers.js';

const cpuSeconds = (pid: number) => processCpuMs(pid) / 1000;

function percentile(values: number[], q: number): number {
    if (!values.length) {
        return NaN;
    }

    const sorted = Float64Array.from(values).sort();
    return round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
}

const round = (x: number) => Math.round(x * 100) / 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `rate` msg/s for `seconds` through a plain socket; returns how many were sent. */
async function publish(ws: WebSocket, rate: number, seconds: number, phase: number): Promise<number> {
    const started = performance.now();
    let sent = 0;
    while (performance.now() - started < seconds * 1000) {
        const due = Math.floor(((performance.now() - started) / 1000) * rate);
        for (; sent < due; sent++) {
            ws.send(JSON.stringify({ event: 'bench', payload: { t: now(), phase, n: sent } }));
        }

        await sleep(2);
    }

    return sent;
}

async function openPublisher(port: number, workspaceId: number, token: string): Promise<WebSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/workspaces/${workspaceId}/?token=${token}`);
    ws.on('message', () => undefined);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return ws;
}

/** One publishing phase against the subscribers; CPU of each instance over it. */
async function phase(instances: Instance[], subs: Subscribers, publisher: WebSocket, rate: number, seconds: number, id: number, receivers: number) {
    const cpu0 = instances.map((i) => cpuSeconds(i.child.pid!));
    const clients0 = subs.cpu();
    const t0 = performance.now();
    const sent = await publish(publisher, rate, seconds, id);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = instances.map((i, n) => round((100 * (cpuSeconds(i.child.pid!) - cpu0[n]!)) / elapsed));
    const clientCpu = round((100 * (subs.cpu() - clients0)) / elapsed);
    await sleep(2000);
    const tally = (await subs.report()).get(id) ?? { latencies: [], delivered: 0, outOfOrder: 0, byLabel: new Map<string, Tally>() };
    const latency = (values: number[]) => ({ p50: percentile(values, 0.5), p99: percentile(values, 0.99), max: percentile(values, 1) });
    return {
        rate,
        seconds,
        sent,
        expected: sent * receivers,
        delivered: tally.delivered,
        lost: sent * receivers - tally.delivered,
        outOfOrder: tally.outOfOrder,
        latencyMs: latency(tally.latencies),
        latencyMsBySubscriber: Object.fromEntries([...tally.byLabel].sort().map(([label, part]) => [label, latency(part.latencies)])),
        cpuPercent: { ...Object.fromEntries(instances.map((_, n) => [`instance${n + 1}`, cpu[n]])), clients: clientCpu }
    };
}

async function metricsOf(instance: Instance): Promise<Record<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${instance.port}/metrics`)).text();
    const value = (name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? 0);
    return {
        events: value('realtime_events_received_total'),
        frames: value('realtime_frames_serialized_total'),
        deliveries: value('realtime_deliveries_total{transport="nes"}') + value('realtime_deliveries_total{transport="ws"}')
    };
}

interface Memory {
    rss: number;
    heapUsed: number;
    external: number;
}

async function gcMemory(instance: Instance): Promise<Memory> {
    return (await (await fetch(`http://127.0.0.1:${instance.port}/_bench/gc`, { method: 'POST' })).json()) as Memory;
}

/** Memory per idle authenticated socket on a third process, after GC: RSS and JS heap + external, in KiB. */
async function memory(env: Record<string, string>, workspaceId: number, token: string) {
    const server = await startInstance({ ...env, EXPOSE_GC: '1' }, ['--expose-gc']);
    const result: Record<string, { rssKiB: number; heapKiB: number }> = {};
    try {
        for (const kind of ['ws', 'nes'] as const) {
            await sleep(500);
            const before = await gcMemory(server);
            const subs = new Subscribers(Array.from({ length: 2000 }, () => ({ kind, port: server.port, workspaceId, token })));
            await subs.ready;
            await sleep(1000);
            const after = await gcMemory(server);
            const perSocket = (bytes: number) => round(bytes / 2000 / 1024);
            result[kind === 'ws' ? 'plain' : 'nes'] = {
                rssKiB: perSocket(after.rss - before.rss),
                heapKiB: perSocket(after.heapUsed + after.external - before.heapUsed - before.external)
            };
            await subs.close();
        }
    }
    finally {
        await server.stop();
    }

    return { sockets: 2000, ...result };
}

/**
 * Connection set-up rate on one instance: `sockets` authenticated sockets of
 * one transport opened at once by the client processes, from the moment they
 * are asked for until the last is open and authenticated (plain: upgraded;
 * nes: `hello` with the token and the workspace subscription answered),
 * spread over `users` members of the workspace. Several rounds per transport
 * (all closed in between); CPU per connection from /proc, up to 1 s after the
 * last handshake (presence writes and their events come after it).
 */
async function connectRate(env: Record<string, string>, nodeArgs: string[], tokens: string[], workspaceId: number, sockets: number, rounds: number) {
    const server = await startInstance(env, nodeArgs);
    const result: Record<string, unknown> = { sockets, users: tokens.length, rounds };
    try {
        for (const kind of ['ws', 'nes'] as const) {
            const runs: Array<{ connPerSecond: number; serverCpuMsPerConn: number; clientCpuMsPerConn: number }> = [];
            for (let round = 0; round < rounds + 1; round++) {
                await sleep(500);
                const subs = new Subscribers(Array.from({ length: sockets }, (_, i) => ({ kind, port: server.port, workspaceId, token: tokens[i % tokens.length]! })));
                await subs.loaded;
                const cpu0 = cpuSeconds(server.child.pid!);
                const clientCpu0 = subs.cpu();
                await subs.ready;
                await sleep(1000);                 // presence updates and their events finish after the handshakes
                const cpu = cpuSeconds(server.child.pid!) - cpu0;
                const seconds = (subs.timing.ready - subs.timing.asked) / 1000;
                const clientCpu = subs.cpu() - clientCpu0;
                await subs.close();
                if (round > 0) {                    // the first round warms the JIT up: not reported
                    runs.push({ connPerSecond: Math.round(sockets / seconds), serverCpuMsPerConn: round2((1000 * cpu) / sockets), clientCpuMsPerConn: round2((1000 * clientCpu) / sockets) });
                }
            }

            result[kind === 'ws' ? 'plain' : 'nes'] = runs;
        }
    }
    finally {
        await server.stop();
    }

    return result;
}

const round2 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
    const seconds = Number(process.env.BENCH_SECONDS ?? 10);
    const sections = (process.env.BENCH_SECTIONS ?? 'fanout,others,memory,connect').split(',');
    const database = await createTestDatabase();
    const cluster = process.env.BENCH_REDIS === 'cluster' ? await RedisCluster.start() : undefined;
    const env = clusterEnv(database.url!, {
        ...cluster ? { REDIS_CLUSTER_NODES: cluster.nodes } : {},
        NODE_ENV: 'production',
        COLLAB_SANDBOX: 'bwrap',
        WS_MAX_PER_USER: '100000',
        WS_MAX_CONNECTIONS: '100000',
        // Every client of the bench connects from 127.0.0.1 at once.
        WS_MAX_ANON_PER_IP: '100000',
        WS_MESSAGE_RATE: '5000',
        WS_MESSAGE_BURST: '5000'
    });
    const nodeArgs = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    const instances = await Promise.all([startInstance(env, nodeArgs), startInstance(env, nodeArgs)]);
    const [a, b] = instances as [Instance, Instance];
    const output: Record<string, unknown> = {
        machine: { cpus: cpus().length, loadAverageAtStart: loadavg().map(round) },
        redis: cluster ? 'cluster: 3 masters, 1 replica each' : 'one Redis'
    };
    try {
        const team = await makeTeam(a);
        const specs: SocketSpec[] = Array.from({ length: 200 }, (_, i) => ({
            kind: (i >> 1) % 2 ? 'nes' : 'ws',
            label: `${(i >> 1) % 2 ? 'nes' : 'plain'}@instance${i % 2 ? 2 : 1}`,
            port: (i % 2 ? b : a).port,
            workspaceId: team.workspaceId,
            token: team.viewer.access
        }));
        if (sections.includes('fanout')) {
            const subs = new Subscribers(specs);
            await subs.ready;
            const publisher = await openPublisher(a.port, team.workspaceId, team.owner.access);
            await sleep(1000);
            await phase(instances, subs, publisher, 200, 3, 0, 200);         // warm-up (JIT, buffers): not reported
            const before = await Promise.all(instances.map(metricsOf));
            output.fanout = {
                subscribers: { total: 200, nes: 100, plain: 100, perInstance: 100 },
                phases: [
                    await phase(instances, subs, publisher, 100, seconds, 1, 200),
                    await phase(instances, subs, publisher, 400, seconds, 2, 200)
                ]
            };
            const after = await Promise.all(instances.map(metricsOf));
            output.serialization = Object.fromEntries(instances.map((_, n) => {
                const d = (k: string) => after[n]![k]! - before[n]![k]!;
                return [`instance${n + 1}`, { events: d('events'), framesSerialized: d('frames'), deliveries: d('deliveries'), framesPerEvent: round(d('frames') / d('events')), deliveriesPerFrame: round(d('deliveries') / d('frames')) }];
            }));
            await subs.close();
            publisher.close();
        }

        output.otherWorkspaces = [];
        for (const others of sections.includes('others') ? [1, 1000] : []) {
            const ids: number[] = [];
            for (let i = 0; i < others; i++) {
                const res = await a.http('POST', `/api/projects/projects/${team.projectId}/workspaces/`, team.owner.access, { name: `other-${others}-${i}` });
                ids.push((res.result as { id: number }).id);
            }

            const target = (await a.http('POST', `/api/projects/projects/${team.projectId}/workspaces/`, team.owner.access, { name: `target-${others}` })).result as { id: number };
            const idle = new Subscribers(ids.map((workspaceId, i) => ({ kind: 'ws', port: (i % 2 ? b : a).port, workspaceId, token: team.viewer.access })));
            const watchers = new Subscribers(Array.from({ length: 10 }, (_, i) => ({ kind: i % 4 < 2 ? 'ws' : 'nes', port: (i % 2 ? b : a).port, workspaceId: target.id, token: team.viewer.access })));
            await Promise.all([idle.ready, watchers.ready]);
            const pub = await openPublisher(a.port, target.id, team.owner.access);
            await sleep(1000);
            const result = await phase(instances, watchers, pub, 200, Math.max(3, seconds / 2), 3, 10);
            (output.otherWorkspaces as unknown[]).push({ otherWorkspacesWithSubscribers: others, ...result });
            pub.close();
            await Promise.all([idle.close(), watchers.close()]);
        }

        if (sections.includes('connect')) {
            const users = Number(process.env.BENCH_CONNECT_USERS ?? 50);
            const tokens: string[] = [];
            for (let i = 0; i < users; i++) {
                const user = await a.user(`member${i}`);
                await a.http('POST', `/api/projects/projects/${team.projectId}/members/`, team.owner.access, { user_id: user.id, role: i % 2 ? 'viewer' : 'collaborator' });
                tokens.push(user.access);
            }

            output.connect = await connectRate(env, nodeArgs, tokens, team.workspaceId, Number(process.env.BENCH_CONNECT_SOCKETS ?? 1000), Number(process.env.BENCH_CONNECT_ROUNDS ?? 3));
        }

        if (sections.includes('memory')) {
            output.memory = await memory(env, team.workspaceId, team.viewer.access);
        }
    }
    finally {
        await Promise.all(instances.map((instance) => instance.stop()));
        await cleanRedis(env.REDIS_PREFIX!);
        await cluster?.stop();
        await database.drop();
    }

    (output.machine as Record<string, unknown>).loadAverageAtEnd = loadavg().map(round);
    process.stdout.write(JSON.stringify(output, null, 2) + '\n');
}

await main();
