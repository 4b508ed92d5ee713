/**
 * Soak benchmark: one collab server process (NODE_ENV=production, its own
 * PostgreSQL database and Redis prefix) holds `--sockets` authenticated
 * sockets (half nes, half plain) over `--workspaces` workspaces while
 * `--rate` events/s in total are published to them over REST and `--churn`
 * clients connect, subscribe and drop at random moments (during the
 * handshake, after hello, mid-subscribe, or after it). Prints one JSON
 * document: events lost, duplicated or out of order for the sockets that
 * stayed; the server's RSS every ~5 s and whether it stays flat within 10 %
 * after minute 2; the server's event-loop delay, measured inside it; and its
 * listeners, active resources (timers, sockets, handles) and Redis
 * subscriptions before the sockets and after they are gone.
 *
 * Run: npm run bench:soak -- [--minutes 10] [--sockets 5000] [--churn 100]
 *      [--workspaces 100] [--rate 10]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Redis } from 'ioredis';

import { createTestDatabase } from '../test/helpers/database.js';
import { cleanRedis } from '../test/helpers/server.js';
import { clusterEnv } from '../test/realtime/processes.js';
import type { ChurnSpec, StayReport, StaySpec } from './soak-clients.js';
import { Publisher } from './soak-publisher.js';

const { values: args } = parseArgs({
    options: {
        minutes: { type: 'string', default: '10' },
        sockets: { type: 'string', default: '5000' },
        churn: { type: 'string', default: '100' },
        workspaces: { type: 'string', default: '100' },
        rate: { type: 'string', default: '10' }
    }
});
const MINUTES = Number(args.minutes);
const SOCKETS = Number(args.sockets);
const CHURN = Number(args.churn);
const WORKSPACES = Number(args.workspaces);
const RATE = Number(args.rate);
const WORKSPACES_PER_PROJECT = 10;
/** The server's default `WS_MAX_PER_USER` (20) is kept: enough users that each holds at most this many staying sockets. */
const SOCKETS_PER_USER = 14;
const CLIENT_PROCESSES = 2;
const SAMPLE_MS = 5_000;
const NOFILE = 65_536;

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const round = (x: number) => Math.round(x * 100) / 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => round(bytes / 1024 / 1024);

/** Starts a node script with the open-files limit raised (a shell's `ulimit -n`, up to the hard limit) and an IPC channel. */
function startNode(script: string, env: Record<string, string>): ChildProcess {
    const raise = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
    return spawn('sh', ['-c', raise, 'sh', process.execPath, '--conditions=source', '--import', 'tsx', script], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    });
}

function next<T>(child: ChildProcess, type: string, timeoutMs = 600_000): Promise<T> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`no ${type} from child within ${timeoutMs} ms`)), timeoutMs);
        const onMessage = (message: { type: string }) => message.type === type && done(undefined, message as T);
        const onExit = (code: number | null) => done(new Error(`child exited with ${code} while waiting for ${type}`));
        const done = (err?: Error, value?: T) => {
            clearTimeout(timer);
            child.off('message', onMessage);
            child.off('exit', onExit);
            if (err) {
                reject(err);
            }
            else {
                resolve(value!);
            }
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
    });
}

type ServerStats = {
    rss: number;
    heapUsed: number;
    lagMs: { p50: number; p99: number; max: number };
    windowLagMs: { p50: number; p99: number; max: number };
    sockets: { nes: number; ws: number };
    hub: { connections: number; topics: number; users: number; resumed: number };
    busTopics: number;
    resources: Record<string, number>;
    listeners: Record<string, number>;
};

class ServerProcess {
    private constructor(readonly child: ChildProcess, readonly port: number) {}

    static async start(env: Record<string, string>): Promise<ServerProcess> {
        const child = startNode(here('./soak-server.ts'), env);
        const { port } = await next<{ port: number }>(child, 'listening', 60_000);
        return new ServerProcess(child, port);
    }

    async stats(): Promise<ServerStats> {
        this.child.send({ type: 'stats' });
        return (await next<{ stats: ServerStats }>(this.child, 'stats', 30_000)).stats;
    }

    async resetLag(): Promise<void> {
        this.child.send({ type: 'reset-lag' });
        await next(this.child, 'reset-lag', 30_000);
    }

    async http(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
        const res = await fetch(`http://127.0.0.1:${this.port}${path}`, {
            method,
            headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            body: body === undefined ? undefined : JSON.stringify(body)
        });
        const text = await res.text();
        return { status: res.status, json: text ? JSON.parse(text) as Record<string, unknown> : {} };
    }

    async stop(): Promise<number | null> {
        if (this.child.exitCode !== null) {
            return this.child.exitCode;
        }

        const exited = new Promise<number | null>((resolve) => this.child.once('exit', resolve));
        this.child.kill('SIGTERM');
        return exited;
    }
}

/** Users, projects and workspaces through the API: user u is a viewer of project u mod P; the owner publishes. */
async function populate(server: ServerProcess) {
    const signUp = async (name: string) => {
        const email = `${name}@soak.example.com`;
        const password = 'correct horse battery';
        const registered = await server.http('POST', '/api/auth/register/', undefined, { email, password, name });
        const login = await server.http('POST', '/api/auth/login/', undefined, { email, password });
        if (registered.status !== 201 || login.status !== 200) {
            throw new Error(`sign-up failed: ${registered.status} ${login.status}`);
        }

        return { id: registered.json.id as number, access: login.json.access as string };
    };

    const inBatches = async <T>(count: number, size: number, work: (i: number) => Promise<T>): Promise<T[]> => {
        const out: T[] = [];
        for (let i = 0; i < count; i += size) {
            out.push(...await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, k) => work(i + k))));
        }

        return out;
    };

    const owner = await signUp('owner');
    const projectCount = Math.ceil(WORKSPACES / WORKSPACES_PER_PROJECT);
    const userCount = Math.max(CHURN, Math.ceil(SOCKETS / SOCKETS_PER_USER), projectCount);
    const users = await inBatches(userCount, 8, (i) => signUp(`user${i}`));
    const projects = await inBatches(projectCount, 4, async (p) => (await server.http('POST', '/api/projects/projects/', owner.access, { name: `soak ${p}` })).json.id as number);
    const workspaces = await inBatches(WORKSPACES, 8, async (w) => {
        const res = await server.http('POST', `/api/projects/projects/${projects[Math.floor(w / WORKSPACES_PER_PROJECT)]}/workspaces/`, owner.access, { name: `w${w}` });
        return res.json.id as number;
    });
    await inBatches(userCount, 8, async (u) => {
        const res = await server.http('POST', `/api/projects/projects/${projects[u % projectCount]}/members/`, owner.access, { user_id: users[u]!.id, role: 'viewer' });
        if (res.status !== 201) {
            throw new Error(`adding a member failed: ${res.status}`);
        }
    });
    return { owner, users, projectCount, workspaces };
}

/** Redis channels of the server's prefix, with their subscriber counts. */
async function redisSubscriptions(redis: Redis, prefix: string): Promise<{ channels: number; subscribers: number }> {
    const channels = await redis.pubsub('CHANNELS', `${prefix}*`) as string[];
    if (!channels.length) {
        return { channels: 0, subscribers: 0 };
    }

    const reply = await redis.pubsub('NUMSUB', ...channels) as Array<string | number>;
    let subscribers = 0;
    for (let i = 1; i < reply.length; i += 2) {
        subscribers += Number(reply[i]);
    }

    return { channels: channels.length, subscribers };
}

function resourcesDiff(before: ServerStats, after: ServerStats) {
    const keys = new Set([...Object.keys(before.resources), ...Object.keys(after.resources)]);
    const growth: Record<string, number> = {};
    for (const key of keys) {
        const delta = (after.resources[key] ?? 0) - (before.resources[key] ?? 0);
        if (delta) {
            growth[key] = delta;
        }
    }

    return growth;
}

async function main(): Promise<void> {
    const database = await createTestDatabase();
    const env = clusterEnv(database.url!, {
        NODE_ENV: 'production',
        COLLAB_SANDBOX: 'bwrap',
        ACCESS_TOKEN_TTL: '6h'
    });
    const redis = new Redis(env.REDIS_URL!);
    const output: Record<string, unknown> = {
        machine: { cpus: cpus().length, loadAverageAtStart: loadavg().map(round) },
        settings: { minutes: MINUTES, sockets: SOCKETS, churn: CHURN, workspaces: WORKSPACES, eventsPerSecond: RATE, wsMaxPerUser: 'default (20)', socketsPerUser: SOCKETS_PER_USER, accessTokenTtl: env.ACCESS_TOKEN_TTL }
    };
    let server: ServerProcess | undefined;
    const clients: ChildProcess[] = [];
    try {
        server = await ServerProcess.start(env);
        const t0 = Date.now();
        const { owner, users, projectCount, workspaces } = await populate(server);
        const setupSeconds = round((Date.now() - t0) / 1000);
        await sleep(2_000);
        const idle = await server.stats();
        const redisBefore = await redisSubscriptions(redis, env.REDIS_PREFIX!);

        // Staying sockets: workspace s mod W; users of that workspace's project in turn; both transports in every workspace.
        const usersOf = (w: number) => users.filter((_, u) => u % projectCount === Math.floor(w / WORKSPACES_PER_PROJECT) % projectCount);
        const stays: StaySpec[] = Array.from({ length: SOCKETS }, (_, s) => {
            const w = s % WORKSPACES;
            const candidates = usersOf(w);
            return {
                kind: Math.floor(s / WORKSPACES) % 2 ? 'nes' : 'ws',
                workspaceId: workspaces[w]!,
                token: candidates[Math.floor(s / WORKSPACES) % candidates.length]!.access,
                localAddress: `127.0.1.${1 + (s % 200)}`
            };
        });
        const churners: ChurnSpec[] = Array.from({ length: CHURN }, (_, i) => {
            const u = users.length - 1 - i;
            const project = u % projectCount;
            return { token: users[u]!.access, workspaceIds: workspaces.filter((_, w) => Math.floor(w / WORKSPACES_PER_PROJECT) === project), localAddress: `127.0.2.${1 + (i % 250)}` };
        });

        for (let n = 0; n < CLIENT_PROCESSES; n++) {
            clients.push(startNode(here('./soak-clients.ts'), {}));
        }

        const t1 = Date.now();
        await Promise.all(clients.map(async (child, n) => {
            child.send({ type: 'open', port: server!.port, specs: stays.filter((_, s) => s % CLIENT_PROCESSES === n), concurrency: 32 });
            await next(child, 'opened');
        }));
        const openSeconds = round((Date.now() - t1) / 1000);
        const connected = await server.stats();
        output.setup = { usersProjectsWorkspacesSeconds: setupSeconds, users: users.length + 1, openSocketsSeconds: openSeconds, setupLagMs: connected.lagMs };

        // Steady state: publish and churn for the run, sampling the server every ~5 s.
        await server.resetLag();
        await Promise.all(clients.map(async (child, n) => {
            child.send({ type: 'churn', specs: churners.filter((_, i) => i % CLIENT_PROCESSES === n) });
            await next(child, 'churning');
        }));
        const publisher = new Publisher(RATE, server, owner.access, workspaces);
        const started = Date.now();
        const samples: Array<{ s: number; rssMiB: number; heapMiB: number; lagP99Ms: number; sockets: number }> = [];
        while (Date.now() - started < MINUTES * 60_000) {
            await sleep(Math.min(SAMPLE_MS, MINUTES * 60_000 - (Date.now() - started)));
            const stats = await server.stats();
            samples.push({ s: Math.round((Date.now() - started) / 1000), rssMiB: mib(stats.rss), heapMiB: mib(stats.heapUsed), lagP99Ms: stats.windowLagMs.p99, sockets: stats.sockets.nes + stats.sockets.ws });
        }

        await publisher.stop();
        const steady = await server.stats();
        const churn = await Promise.all(clients.map(async (child) => {
            child.send({ type: 'stop-churn' });
            return (await next<{ churn: { cycles: number; byPhase: Record<string, number>; refused: Record<string, number>; errors: number } }>(child, 'churn-stopped')).churn;
        }));
        const redisSteady = await redisSubscriptions(redis, env.REDIS_PREFIX!);

        // Every staying socket should now hold its workspace's last seq; wait for stragglers, then count.
        const expected = Object.fromEntries(publisher.published);
        const deadline = Date.now() + 30_000;
        let behind = Infinity;
        while (behind > 0 && Date.now() < deadline) {
            behind = 0;
            for (const child of clients) {
                child.send({ type: 'behind', expected });
                behind += (await next<{ behind: number }>(child, 'behind')).behind;
            }

            if (behind) {
                await sleep(250);
            }
        }

        const reports = await Promise.all(clients.map(async (child) => {
            child.send({ type: 'report', expected });
            return (await next<{ report: StayReport }>(child, 'report')).report;
        }));
        const sum = (key: keyof Omit<StayReport, 'closeCodes'>) => reports.reduce((total, r) => total + r[key], 0);
        const closeCodes: Record<string, number> = {};
        for (const report of reports) {
            for (const [code, count] of Object.entries(report.closeCodes)) {
                closeCodes[code] = (closeCodes[code] ?? 0) + count;
            }
        }

        const eventsPublished = [...publisher.published.values()].reduce((a, b) => a + b, 0);
        output.events = {
            published: eventsPublished,
            publishFailures: publisher.failed,
            unexpectedSeq: publisher.unexpectedSeq,
            stayingSockets: sum('sockets'),
            deliveriesExpected: stays.reduce((total, spec) => total + (expected[spec.workspaceId] ?? 0), 0),
            socketsExact: sum('exact'),
            lost: sum('lost'),
            duplicated: sum('duplicated'),
            outOfOrder: sum('outOfOrder'),
            stayingClosedEarly: sum('closedEarly'),
            stayingCloseCodes: closeCodes
        };
        output.churn = {
            clients: CHURN,
            cycles: churn.reduce((total, c) => total + c.cycles, 0),
            byDropPoint: Object.fromEntries(Object.keys(churn[0]?.byPhase ?? {}).map((phase) => [phase, churn.reduce((total, c) => total + c.byPhase[phase]!, 0)])),
            refusedCloseCodes: churn.reduce<Record<string, number>>((all, c) => {
                for (const [code, count] of Object.entries(c.refused)) {
                    all[code] = (all[code] ?? 0) + count;
                }

                return all;
            }, {}),
            errors: churn.reduce((total, c) => total + c.errors, 0)
        };

        // RSS after minute 2 (or over the second half of a shorter run).
        const fromSecond = Math.min(120, (MINUTES * 60) / 2);
        const late = samples.filter((sample) => sample.s >= fromSecond).map((sample) => sample.rssMiB);
        const lowPoints: number[] = [];
        for (let from = fromSecond; from < MINUTES * 60; from += 60) {
            const minute = samples.filter((sample) => sample.s >= from && sample.s < from + 60).map((sample) => sample.rssMiB);
            if (minute.length) {
                lowPoints.push(Math.min(...minute));
            }
        }

        const min = Math.min(...late);
        const max = Math.max(...late);
        output.rss = {
            fromSecond,
            minMiB: min,
            maxMiB: max,
            spreadPercent: round((100 * (max - min)) / min),
            flatWithin10Percent: (max - min) / min <= 0.1,
            // V8 lets garbage build up to a major GC (a sawtooth); a leak shows as rising low points instead.
            lowPointPerMinuteMiB: lowPoints,
            lowPointsFlatWithin10Percent: lowPoints.length > 0 && (Math.max(...lowPoints) - Math.min(...lowPoints)) / Math.min(...lowPoints) <= 0.1,
            idleBeforeSocketsMiB: mib(idle.rss),
            samples
        };
        output.eventLoopLagMs = {
            p50: steady.lagMs.p50,
            p99: steady.lagMs.p99,
            max: steady.lagMs.max,
            worstFiveSecondP99: Math.max(...samples.map((sample) => sample.lagP99Ms)),
            p99Within50Ms: steady.lagMs.p99 <= 50
        };

        // Close everything and wait for the server to let go of it.
        await Promise.all(clients.map(async (child) => {
            child.send({ type: 'close' });
            await next(child, 'closed');
        }));
        let after = await server.stats();
        const drained = Date.now() + 30_000;
        while ((after.hub.connections || after.sockets.nes || after.sockets.ws || after.hub.topics || after.busTopics) && Date.now() < drained) {
            await sleep(500);
            after = await server.stats();
        }

        await sleep(SAMPLE_MS);
        after = await server.stats();
        const redisAfter = await redisSubscriptions(redis, env.REDIS_PREFIX!);
        output.leaks = {
            listeners: { beforeSockets: idle.listeners, atEnd: steady.listeners, afterClose: after.listeners },
            resources: { beforeSockets: idle.resources, afterClose: after.resources, growth: resourcesDiff(idle, after) },
            redisSubscriptions: { beforeSockets: redisBefore, steady: redisSteady, afterClose: redisAfter },
            hubAfterClose: { ...after.hub, busTopics: after.busTopics, sockets: after.sockets },
            noGrowth: {
                listeners: Object.keys(idle.listeners).every((key) => after.listeners[key]! <= idle.listeners[key]!),
                timers: (after.resources.Timeout ?? 0) <= (idle.resources.Timeout ?? 0),
                redisSubscriptions: redisAfter.channels <= redisBefore.channels && redisAfter.subscribers <= redisBefore.subscribers,
                hub: after.hub.connections === 0 && after.hub.topics === 0 && after.busTopics === 0
            },
            rssAfterCloseMiB: mib(after.rss)
        };
    }
    finally {
        await Promise.all(clients.map(async (child) => {
            if (child.exitCode === null) {
                const exited = new Promise((resolve) => child.once('exit', resolve));
                child.kill('SIGTERM');
                await exited;
            }
        }));
        const code = await server?.stop();
        output.serverExitCode = code ?? null;
        await redis.quit();
        await cleanRedis(env.REDIS_PREFIX!);
        await database.drop();
    }

    (output.machine as Record<string, unknown>).loadAverageAtEnd = loadavg().map(round);
    process.stdout.write(JSON.stringify(output, null, 2) + '\n');
}

await main();
