/**
 * Event bus benchmark against a real Redis (REDIS_URL, default
 * redis://127.0.0.1:6379), under a throw-away key prefix. Prints one JSON
 * document:
 * - `local`: publish latency (sequential) and throughput (64 in flight)
 *   with N listeners on the workspace, and listener calls per second;
 * - `crossInstance`: latency from publish() on one instance to a listener
 *   on another;
 * - `otherWorkspaces`: publish throughput and median latency for one
 *   workspace (subscribed on another instance) while 1 or 1,000 other
 *   workspaces have subscribers on both instances (should be flat).
 *
 * Run: node --conditions=source --import tsx bench/bus.ts
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { Redis } from 'ioredis';

import { EventBus } from '../packages/core/src/bus/index.js';
import { cleanRedis } from '../test/helpers/server.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const IN_FLIGHT = 64;
const prefix = `collab-bench-${randomUUID()}:`;
const connections: Redis[] = [];
const buses: EventBus[] = [];
const sender = { user: 'bench@example.com', user_id: 1 };
const payload = { file: 'src/index.ts', content: 'x'.repeat(200) };
let nextWorkspace = 1;

function makeBus(): EventBus {
    const redis = new Redis(REDIS_URL);
    const subscriber = new Redis(REDIS_URL);
    connections.push(redis, subscriber);
    const bus = new EventBus({ redis, subscriber, prefix, instanceId: `bench-${randomUUID()}` });
    buses.push(bus);
    return bus;
}

function summarize(samples: number[]): { p50: number; p99: number; mean: number } {
    const sorted = [...samples].sort((a, b) => a - b);
    const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    return { p50: at(0.5), p99: at(0.99), mean: round(samples.reduce((sum, x) => sum + x, 0) / samples.length) };
}

function round(x: number): number {
    return Math.round(x * 1000) / 1000;
}

async function sequential(bus: EventBus, workspaceId: number): Promise<number[]> {
    const latencies: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
        const start = performance.now();
        await bus.publish(workspaceId, { ...sender, event: 'bench', payload });
        latencies.push(performance.now() - start);
    }

    return latencies;
}

async function throughput(bus: EventBus, workspaceId: number): Promise<number> {
    let sent = 0;
    const start = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < EVENTS) {
            sent++;
            await bus.publish(workspaceId, { ...sender, event: 'bench', payload });
        }
    }));
    return Math.round(EVENTS / ((performance.now() - start) / 1000));
}

async function local(listeners: number) {
    const bus = makeBus();
    const workspaceId = nextWorkspace++;
    let delivered = 0;
    const stops = Array.from({ length: listeners }, () => bus.subscribe(workspaceId, () => {
        delivered++;
    }));
    await stops[0]!.ready;
    const latencies = await sequential(bus, workspaceId);
    const start = performance.now();
    const target = delivered + EVENTS * listeners;
    const opsPerSecond = await throughput(bus, workspaceId);
    while (delivered < target) {
        await new Promise((resolve) => setImmediate(resolve));
    }

    const deliveriesPerSecond = Math.round(EVENTS * listeners / ((performance.now() - start) / 1000));
    stops.forEach((stop) => stop());
    return { listeners, publishMs: summarize(latencies), opsPerSecond, deliveriesPerSecond };
}

async function crossInstance() {
    const a = makeBus();
    const b = makeBus();
    const workspaceId = nextWorkspace++;
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    const stop = b.subscribe(workspaceId, (envelope) => {
        latencies.push(performance.now() - sentAt.get(envelope.payload as number)!);
    });
    await stop.ready;
    for (let i = 0; i < EVENTS; i++) {
        sentAt.set(i, performance.now());
        await a.publish(workspaceId, { ...sender, event: 'bench', payload: i });
    }

    while (latencies.length < EVENTS) {
        await new Promise((resolve) => setTimeout(resolve, 5));
    }

    stop();
    return { deliveryMs: summarize(latencies) };
}

interface Setup {
    others: number;
    publisher: EventBus;
    workspaceId: number;
    delivered: () => number;
}

async function setup(others: number): Promise<Setup> {
    const a = makeBus();
    const b = makeBus();
    const stops = [];
    for (let i = 0; i < others; i++) {
        const workspaceId = nextWorkspace++;
        stops.push(a.subscribe(workspaceId, () => {}), b.subscribe(workspaceId, () => {}));
    }

    const workspaceId = nextWorkspace++;
    let delivered = 0;
    stops.push(b.subscribe(workspaceId, () => {
        delivered++;
    }));
    await Promise.all(stops.map((stop) => stop.ready));
    return { others, publisher: a, workspaceId, delivered: () => delivered };
}

// Both setups live side by side and are measured in alternating rounds, so
// machine noise hits them alike; medians of the rounds are reported.
async function otherWorkspaces(counts: number[], rounds = 5) {
    const setups = [];
    for (const others of counts) {
        setups.push(await setup(others));
    }

    const samples = setups.map(() => ({ p50: [] as number[], opsPerSecond: [] as number[] }));
    for (let round = 0; round < rounds; round++) {
        for (const [i, { publisher, workspaceId, delivered }] of setups.entries()) {
            const before = delivered();
            samples[i]!.p50.push(summarize(await sequential(publisher, workspaceId)).p50);
            samples[i]!.opsPerSecond.push(await throughput(publisher, workspaceId));
            while (delivered() < before + 2 * EVENTS) {
                await new Promise((resolve) => setTimeout(resolve, 5));
            }
        }
    }

    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    return setups.map(({ others }, i) => ({
        otherWorkspaces: others,
        publishP50Ms: median(samples[i]!.p50),
        opsPerSecond: median(samples[i]!.opsPerSecond)
    }));
}

async function main(): Promise<void> {
    const result = {
        events: EVENTS,
        payloadBytes: JSON.stringify(payload).length,
        local: [await local(1), await local(100), await local(1000)],
        crossInstance: await crossInstance(),
        otherWorkspaces: await otherWorkspaces([1, 1000])
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

try {
    await main();
}
finally {
    for (const bus of buses) {
        await bus.close();
    }

    await cleanRedis(prefix);

    await Promise.all(connections.map((redis) => redis.quit()));
}
