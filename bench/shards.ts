/**
 * Many workspaces on a Redis Cluster (3 masters, one replica each), the event
 * bus alone (no HTTP): 2,000 workspaces × 1 event/s published through the
 * bus's script, all subscribed by a second bus. Prints one JSON document:
 * - `bus`: events published and delivered, and per master the workspaces it
 *   owns and its CPU, with the busiest master against the mean;
 * - `pubsub`: the same number of raw messages sent with `SPUBLISH` (what the
 *   bus uses) and with plain `PUBLISH`, and how many each node received over
 *   the cluster bus (`CLUSTER INFO` counters): a sharded message reaches its
 *   shard's replica only, a plain one every node.
 *
 * Run: npm run bench:shards (BENCH_SECONDS, default 10; BENCH_WORKSPACES, default 2000).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

import { Redis } from 'ioredis';
import { createRedis, EventBus, loadConfig } from '@collab/core';

import { busKeys } from '../packages/core/src/bus/keys.js';
import { RedisCluster } from '../test/helpers/redis-cluster.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const workspaces = Number(process.env.BENCH_WORKSPACES ?? 2000);
const round = (x: number) => Math.round(x * 100) / 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuSeconds = (pid: number) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
};

async function clusterCounters(port: number): Promise<Record<string, number>> {
    const node = new Redis({ port, host: '127.0.0.1' });
    try {
        const info = await node.call('CLUSTER', 'INFO') as string;
        return Object.fromEntries(info.split('\r\n').filter((line) => line.startsWith('cluster_stats_messages_publish')).map((line) => {
            const [name, value] = line.split(':');
            return [name!.replace('cluster_stats_messages_', ''), Number(value)];
        }));
    }
    finally {
        node.disconnect();
    }
}

/** Sends `count` messages a second to each channel for `seconds`, spread over each second. */
async function paced(channels: string[], seconds: number, send: (channel: string, i: number) => Promise<unknown>): Promise<number> {
    const started = performance.now();
    const total = channels.length * seconds;
    let sent = 0;
    const inFlight = new Set<Promise<unknown>>();
    while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * channels.length));
        for (; sent < due; sent++) {
            const p = send(channels[sent % channels.length]!, sent).catch(() => undefined).finally(() => inFlight.delete(p));
            inFlight.add(p);
        }

        await sleep(5);
    }

    await Promise.all(inFlight);
    return sent;
}

async function main(): Promise<void> {
    const cluster = await RedisCluster.start();
    const config = loadConfig({ REDIS_CLUSTER_NODES: cluster.nodes, REDIS_PREFIX: `bench-${randomBytes(3).toString('hex')}:`, JWT_SECRET: 'x'.repeat(32) });
    const connections = [createRedis(config), createRedis(config), createRedis(config), createRedis(config)];
    const [pubRedis, pubSubscriber, subRedis, subSubscriber] = connections as [ReturnType<typeof createRedis>, ReturnType<typeof createRedis>, ReturnType<typeof createRedis>, ReturnType<typeof createRedis>];
    const publisher = new EventBus({ redis: pubRedis, subscriber: pubSubscriber, prefix: config.redisPrefix, instanceId: 'bench-publisher' });
    const subscriber = new EventBus({ redis: subRedis, subscriber: subSubscriber, prefix: config.redisPrefix, instanceId: 'bench-subscriber' });
    const output: Record<string, unknown> = { machine: { cpus: cpus().length, loadAverageAtStart: loadavg().map(round) }, workspaces, seconds };
    try {
        const { masters } = await cluster.topology();
        const ids = Array.from({ length: workspaces }, (_, i) => i + 1);
        const owners = new Map<number, number>();
        for (const id of ids) {
            const port = await cluster.masterOf(busKeys(config.redisPrefix).channel(id));
            owners.set(port, (owners.get(port) ?? 0) + 1);
        }

        let delivered = 0;
        const stops = ids.map((id) => subscriber.subscribe(id, () => delivered++));
        await Promise.all(stops.map((stop) => stop.ready));
        await sleep(500);

        const cpu0 = masters.map((port) => cpuSeconds(cluster.pidOf(port)));
        const t0 = performance.now();
        const published = await paced(ids.map(String), seconds, (id) => publisher.publish(Number(id), { event: 'tick', payload: { t: Date.now() }, user: 'bench@example.com', user_id: 1 }));
        const elapsed = (performance.now() - t0) / 1000;
        const cpu = masters.map((port, n) => round((100 * (cpuSeconds(cluster.pidOf(port)) - cpu0[n]!)) / elapsed));
        await sleep(2000);
        const mean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
        output.bus = {
            published,
            delivered,
            lost: published - delivered,
            masters: masters.map((port, n) => ({ port, workspaces: owners.get(port) ?? 0, cpuPercent: cpu[n] })),
            busiestOverMean: round(Math.max(...cpu) / mean)
        };
        stops.forEach((stop) => stop());

        // The same volume as raw messages, sharded and plain, counted per node on the cluster bus.
        const channels = ids.map((id) => busKeys(config.redisPrefix).channel(id));
        const nodes = [...masters, ...[...(await cluster.topology()).replicas.values()].flat()].sort((a, b) => a - b);
        const pubsub: Record<string, unknown> = {};
        for (const command of ['SPUBLISH', 'PUBLISH'] as const) {
            const before = await Promise.all(nodes.map(clusterCounters));
            const sent = await paced(channels, Math.min(seconds, 5), (channel, i) => (command === 'SPUBLISH' ? pubRedis.spublish(channel, String(i)) : pubRedis.publish(channel, String(i))));
            await sleep(1000);
            const after = await Promise.all(nodes.map(clusterCounters));
            pubsub[command] = {
                sent,
                receivedOverClusterBusPerNode: Object.fromEntries(nodes.map((port, n) => {
                    const key = command === 'SPUBLISH' ? 'publishshard_received' : 'publish_received';
                    return [`${port}${masters.includes(port) ? ' (master)' : ' (replica)'}`, (after[n]![key] ?? 0) - (before[n]![key] ?? 0)];
                }))
            };
        }

        output.pubsub = pubsub;
    }
    finally {
        await Promise.all([publisher.close(), subscriber.close()]);
        connections.forEach((connection) => connection.disconnect());
        await cluster.stop();
    }

    (output.machine as Record<string, unknown>).loadAverageAtEnd = loadavg().map(round);
    process.stdout.write(JSON.stringify(output, null, 2) + '\n');
}

await main();
