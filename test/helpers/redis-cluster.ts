import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';

import { freePort, portIsFree, run, type Child } from './process.js';
import { until } from './wait.js';

/** One redis-server of a {@link RedisCluster}. */
export interface ClusterNode {
    port: number;
    child: Child;
}

/** What `RedisCluster.start()` takes. */
export interface RedisClusterOptions {
    masters?: number;
    replicasPerMaster?: number;
    /** `cluster-node-timeout`: how long a silent master is given before its replica takes over (default 1000 ms). */
    nodeTimeoutMs?: number;
}

/**
 * A private Redis Cluster of one test file (default 3 masters with one
 * replica each) on free ports, in a directory of its own: started by
 * `start()`, each node a child process the test owns, all stopped and the
 * directory removed by `stop()`. Never touches the shared Redis.
 */
export class RedisCluster {
    readonly #nodes: ClusterNode[];

    private constructor(readonly dir: string, nodes: ClusterNode[]) {
        this.#nodes = nodes;
    }

    /**
     * Starts the nodes on free ports. A port found free can be taken before
     * its node binds it (by another test, or by an outgoing connection on its
     * cluster bus port, port + 10000): a node that exits before it answers is
     * reported with its output, and the cluster starts again on other ports.
     */
    static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
        for (let attempt = 1; ; attempt++) {
            try {
                return await RedisCluster.#startOnce(options);
            }
            catch (err) {
                if (!(err instanceof NodeExited) || attempt === START_ATTEMPTS) {
                    throw err;
                }
            }
        }
    }

    static async #startOnce(options: RedisClusterOptions): Promise<RedisCluster> {
        const masters = options.masters ?? 3;
        const count = masters * (1 + (options.replicasPerMaster ?? 1));
        const dir = await mkdtemp(join(tmpdir(), 'collab-redis-cluster-'));
        const ports: number[] = [];
        while (ports.length < count) {
            const port = await freePort();
            // The cluster bus listens on port + 10000: both must be free.
            if (port <= 55_535 && !ports.includes(port) && await portIsFree(port + 10_000)) {
                ports.push(port);
            }
        }

        const nodes = ports.map((port) => ({
            port,
            child: run('redis-server', [
                '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
                '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
                '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 1000),
                '--save', '', '--appendonly', 'no'
            ])
        }));
        const cluster = new RedisCluster(dir, nodes);
        try {
            await Promise.all(nodes.map(({ port, child }) => until(async () => {
                if (child.process.exitCode !== null) {
                    throw new NodeExited(port, child.stdout() + child.stderr());
                }

                return ping(port);
            }, 10_000, `redis-server on ${port}`, () => child.stdout() + child.stderr())));
            const create = run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', String(options.replicasPerMaster ?? 1), '--cluster-yes']);
            const code = await create.closed;
            if (code !== 0) {
                throw new Error(`redis-cli --cluster create failed (${code}): ${create.stdout()}${create.stderr()}`);
            }

            await cluster.#settled(masters);
        }
        catch (err) {
            await cluster.stop();
            throw err;
        }

        return cluster;
    }

    /** `REDIS_CLUSTER_NODES` for this cluster. */
    get nodes(): string {
        return this.#nodes.map((node) => `127.0.0.1:${node.port}`).join(',');
    }

    /** The ports of the live masters and their replicas, as the cluster sees itself now. */
    async topology(): Promise<{ masters: number[]; replicas: Map<number, number[]> }> {
        const lines = await command(this.#live()[0]!.port, (client) => client.call('CLUSTER', 'NODES') as Promise<string>);
        const byId = new Map<string, number>();
        const rows = lines.trim().split('\n').map((line) => line.split(' '));
        for (const [id, address] of rows) {
            byId.set(id!, Number(address!.split('@')[0]!.split(':')[1]));
        }

        const masters: number[] = [];
        const replicas = new Map<number, number[]>();
        for (const [, address, flags, master] of rows) {
            const port = Number(address!.split('@')[0]!.split(':')[1]);
            if (flags!.includes('fail')) {
                continue;
            }

            if (flags!.includes('master')) {
                masters.push(port);
            }
            else {
                const of = byId.get(master!)!;
                replicas.set(of, [...replicas.get(of) ?? [], port]);
            }
        }

        return { masters: masters.sort((a, b) => a - b), replicas };
    }

    /** The PID of the node on `port`. */
    pidOf(port: number): number {
        return this.#nodes.find((node) => node.port === port)!.child.process.pid!;
    }

    /** The master that owns a key's (or channel's) slot. */
    async masterOf(key: string): Promise<number> {
        const live = this.#live()[0]!;
        const slot = await command(live.port, (client) => client.call('CLUSTER', 'KEYSLOT', key) as Promise<number>);
        const ranges = await command(live.port, (client) => client.call('CLUSTER', 'SLOTS') as Promise<Array<[number, number, [string, number]]>>);
        const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!owner) {
            throw new Error(`no master owns slot ${slot}`);
        }

        return owner[2][1];
    }

    /**
     * SIGKILLs a master once its replicas hold everything it wrote, and
     * waits until one of them has taken over and the cluster is whole again.
     * Returns the port of the promoted replica.
     */
    async killMaster(port: number): Promise<number> {
        const { replicas } = await this.topology();
        const mine = replicas.get(port) ?? [];
        if (mine.length === 0) {
            throw new Error(`master ${port} has no replica`);
        }

        await command(port, (client) => client.call('WAIT', mine.length, 5000));
        const node = this.#nodes.find((entry) => entry.port === port)!;
        const exited = node.child.exited;
        node.child.process.kill('SIGKILL');
        await exited;
        const promoted = await until(async () => {
            const now = await this.topology().catch(() => undefined);
            return now && mine.find((replica) => now.masters.includes(replica));
        }, 30_000, `a replica of ${port} to take over`);
        await this.#settled(this.#nodes.length / (1 + mine.length), port);
        return promoted;
    }

    /** Stops every node (by PID) and removes the directory. */
    async stop(): Promise<void> {
        await Promise.all(this.#nodes.map(async ({ child }) => {
            if (child.process.exitCode === null && child.process.signalCode === null) {
                child.process.kill('SIGKILL');
                await child.exited;
            }
        }));
        await rm(this.dir, { recursive: true, force: true });
    }

    #live(): ClusterNode[] {
        return this.#nodes.filter(({ child }) => child.process.exitCode === null && child.process.signalCode === null);
    }

    // Every live node reports the cluster ok with every slot served by `masters` masters.
    async #settled(masters: number, dead?: number): Promise<void> {
        const live = this.#live().filter((node) => node.port !== dead);
        await until(async () => {
            for (const node of live) {
                const info = await command(node.port, (client) => client.call('CLUSTER', 'INFO') as Promise<string>).catch(() => '');
                if (!info.includes('cluster_state:ok') || !info.includes(`cluster_size:${masters}`) || !info.includes('cluster_slots_ok:16384')) {
                    return false;
                }
            }

            const { masters: now } = await this.topology();
            return now.length === masters;
        }, 30_000, 'the Redis Cluster to settle');
    }
}

const START_ATTEMPTS = 3;

/** A node exited before it answered (its port was taken meanwhile). */
class NodeExited extends Error {
    constructor(port: number, output: string) {
        super(`redis-server on ${port} exited before it answered: ${output.trim().split('\n').at(-1) ?? ''}`);
    }
}

async function ping(port: number): Promise<boolean> {
    try {
        return (await command(port, (client) => client.ping())) === 'PONG';
    }
    catch {
        return false;
    }
}

async function command<T>(port: number, body: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
        await client.connect();
        return await body(client);
    }
    finally {
        client.disconnect();
    }
}
