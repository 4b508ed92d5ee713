// The two systems of the documents bench (bench/docs.ts), each on a private redis-server so their
// Redis traffic can be told apart: collab (server processes of test/fixtures/realtime-server.ts on
// one PostgreSQL database) and Hocuspocus 4 with its Redis extension (bench/docs-hocuspocus.ts).
import { fileURLToPath } from 'node:url';

import { Redis } from 'ioredis';

import { createTestDatabase, type TestDatabase } from '../test/helpers/database.js';
import { run } from '../test/helpers/process.js';
import { RedisServer } from '../test/helpers/redis-server.js';
import { until } from '../test/helpers/wait.js';
import { clusterEnv, startInstance, type Instance } from '../test/realtime/processes.js';
import type { DocSpec, System } from './docs-clients.js';
import { processCpuMs } from './proc-cpu.js';

/** A server process's memory after two GCs, and its CPU. */
export interface Memory {
    rss: number;
    heapUsed: number;
    external: number;
    /** Bytes of V8's heap resident in memory: the rest of the RSS is native memory (malloc's, whether in use or kept after free). */
    heapPhysical: number;
}

/** One server process of a system. */
export interface ServerProcess {
    port: number;
    pid: number;
    /** Collects garbage in the process, then answers its memory. */
    memory(): Promise<Memory>;
    /** CPU seconds (user + system) the process has used, from /proc. */
    cpuSeconds(): number;
    stop(): Promise<void>;
}

/** Traffic counters of a redis-server (INFO stats). */
export interface RedisCounters {
    inputBytes: number;
    outputBytes: number;
    commands: number;
}

/** A system under test: its instances share one private Redis (and, for collab, one database). */
export interface SystemUnderTest {
    readonly name: System;
    /** Starts one more server process. */
    start(): Promise<ServerProcess>;
    /** Makes the documents exist where the system needs it (collab: empty files), and says how to open them. */
    prepare(server: ServerProcess, paths: string[]): Promise<DocSpec[]>;
    redisCounters(): Promise<RedisCounters>;
    stop(): Promise<void>;
}

const HOCUSPOCUS = fileURLToPath(new URL('./docs-hocuspocus.ts', import.meta.url));

/** CPU seconds (user + system) a process has used, from /proc. */
export const cpuSeconds = (pid: number): number => processCpuMs(pid) / 1000;

async function gcMemory(port: number): Promise<Memory> {
    const res = await fetch(`http://127.0.0.1:${port}/_bench/gc`, { method: 'POST' });
    if (!res.ok) {
        throw new Error(`/_bench/gc answered ${res.status}`);
    }

    return (await res.json()) as Memory;
}

async function redisCounters(redis: Redis): Promise<RedisCounters> {
    const info = await redis.info('stats');
    const value = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    return { inputBytes: value('total_net_input_bytes'), outputBytes: value('total_net_output_bytes'), commands: value('total_commands_processed') };
}

class Collab implements SystemUnderTest {
    readonly name = 'collab';
    readonly #instances: Instance[] = [];
    #token?: string;
    #workspaceId?: number;

    private constructor(private readonly redisServer: RedisServer, private readonly redis: Redis, private readonly database: TestDatabase, private readonly env: Record<string, string>) {}

    static async create(): Promise<Collab> {
        const redisServer = await RedisServer.reserve();
        await redisServer.start();
        const database = await createTestDatabase();
        const env = clusterEnv(database.url!, {
            NODE_ENV: 'production',
            REDIS_URL: redisServer.url,
            WS_MAX_PER_USER: '100000',
            WS_MAX_CONNECTIONS: '100000',
            EXPOSE_GC: '1'
        });
        return new Collab(redisServer, new Redis(redisServer.url), database, env);
    }

    async start(): Promise<ServerProcess> {
        // BENCH_PROF=DIR: each instance writes a CPU profile there when it stops.
        const profile = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
        const instance = await startInstance(this.env, ['--expose-gc', ...profile]);
        this.#instances.push(instance);
        return { port: instance.port, pid: instance.child.pid!, memory: () => gcMemory(instance.port), cpuSeconds: () => cpuSeconds(instance.child.pid!), stop: () => instance.stop() };
    }

    async prepare(server: ServerProcess, paths: string[]): Promise<DocSpec[]> {
        const instance = this.#instances.find((i) => i.port === server.port)!;
        if (!this.#token) {
            const user = await instance.user('editor');
            const project = await instance.http('POST', '/api/projects/projects/', user.access, { name: 'Bench' });
            const workspace = await instance.http('POST', `/api/projects/projects/${(project.result as { id: number }).id}/workspaces/`, user.access, { name: 'Documents' });
            this.#token = user.access;
            this.#workspaceId = (workspace.result as { id: number }).id;
        }

        for (let i = 0; i < paths.length; i += 50) {
            await Promise.all(paths.slice(i, i + 50).map(async (path) => {
                const res = await instance.http('PUT', `/api/projects/workspaces/${this.#workspaceId}/files/${path}`, this.#token, { content: '' });
                if (res.statusCode !== 200) {
                    throw new Error(`PUT ${path}: ${res.statusCode} ${JSON.stringify(res.result)}`);
                }
            }));
        }

        return paths.map((path) => ({ port: server.port, workspaceId: this.#workspaceId!, path, token: this.#token }));
    }

    redisCounters(): Promise<RedisCounters> {
        return redisCounters(this.redis);
    }

    async stop(): Promise<void> {
        await Promise.all(this.#instances.map((instance) => instance.stop()));
        this.redis.disconnect();
        await this.redisServer.stop();
        await this.database.drop();
    }
}

class Hocuspocus implements SystemUnderTest {
    readonly name = 'hocuspocus';
    readonly #servers: Array<{ child: ReturnType<typeof run>; port: number }> = [];

    private constructor(private readonly redisServer: RedisServer, private readonly redis: Redis) {}

    static async create(): Promise<Hocuspocus> {
        const redisServer = await RedisServer.reserve();
        await redisServer.start();
        return new Hocuspocus(redisServer, new Redis(redisServer.url));
    }

    async start(): Promise<ServerProcess> {
        const child = run(process.execPath, ['--expose-gc', '--import', 'tsx', HOCUSPOCUS], { env: { ...process.env, REDIS_URL: this.redisServer.url } });
        const line = await until(() => {
            if (child.process.exitCode !== null) {
                throw new Error(`Hocuspocus exited: ${child.stderr()}`);
            }

            return child.lines()[0];
        }, 30_000, 'Hocuspocus to listen', child.stderr);
        const { port, pid } = JSON.parse(line) as { port: number; pid: number };
        this.#servers.push({ child, port });
        const stop = async () => {
            if (child.process.exitCode === null) {
                child.process.kill('SIGTERM');
            }

            await child.exited;
        };
        return { port, pid, memory: () => gcMemory(port), cpuSeconds: () => cpuSeconds(pid), stop };
    }

    prepare(server: ServerProcess, paths: string[]): Promise<DocSpec[]> {
        return Promise.resolve(paths.map((path) => ({ port: server.port, workspaceId: 1, path })));
    }

    redisCounters(): Promise<RedisCounters> {
        return redisCounters(this.redis);
    }

    async stop(): Promise<void> {
        for (const { child } of this.#servers) {
            if (child.process.exitCode === null) {
                child.process.kill('SIGTERM');
            }

            await child.exited;
        }

        this.redis.disconnect();
        await this.redisServer.stop();
    }
}

/** Starts a system's Redis (and database); its server processes start with `start()`. */
export function createSystem(name: System): Promise<SystemUnderTest> {
    return name === 'collab' ? Collab.create() : Hocuspocus.create();
}
