import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';

import Joi from 'joi';

import { parseDuration } from './duration.js';

/** The validated configuration of a collab process (DESIGN §3). */
export interface Config {
    nodeEnv: string;
    host: string;
    port: number;
    /** `postgres://…`, or undefined for the embedded database under `dataDir`. */
    databaseUrl?: string;
    redisUrl: string;
    /** Nodes of a Redis Cluster (`REDIS_CLUSTER_NODES`); when set, they replace `redisUrl` (DESIGN §9). */
    redisClusterNodes?: RedisNode[];
    redisPrefix: string;
    jwtSecret: string;
    /** Seconds. */
    accessTokenTtl: number;
    /** Seconds. */
    refreshTokenTtl: number;
    rateLimit: { user: number; ip: number; auth: number };
    /** Addresses and CIDR ranges of reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, default none). */
    trustedProxies: string[];
    sandbox: 'bwrap' | 'none';
    /** How each bwrap sandbox is made (`COLLAB_SANDBOX_MODE`, default `forkserver`): forked from a fork server per language (python), or started afresh. */
    sandboxMode: 'forkserver' | 'fresh';
    /** Jobs one user may have queued or running at once; the next submit is 429 (`JOBS_MAX_ACTIVE_PER_USER`, default 20). */
    jobsMaxActivePerUser: number;
    /** MiB a job may write, working directory and `/tmp` together, and as much in `/dev/shm` (`SANDBOX_DISK_MB`, default 64). */
    sandboxDiskMb: number;
    logLevel: string;
    /** Where the embedded database and the generated development secret live. */
    dataDir: string;
    /** Limits of both real-time transports. */
    realtime: RealtimeSettings;
    /** Settings of `collab-worker` and of the worker `npm start` embeds. */
    worker: WorkerSettings;
}

/** One `host:port` of `REDIS_CLUSTER_NODES`. */
export interface RedisNode {
    host: string;
    port: number;
}

/** Limits and switches of the real-time transports (both nes and plain WebSocket). */
export interface RealtimeSettings {
    /** Open sockets of both transports on this instance; beyond it upgrades are refused (`WS_MAX_CONNECTIONS`, default 10 000). */
    maxConnections: number;
    /** Open sockets of one user on this instance (`WS_MAX_PER_USER`, default 20). */
    maxPerUser: number;
    /** Allowed `Origin` headers; an empty list allows any (`WS_ALLOWED_ORIGINS`, comma separated, default unset). */
    allowedOrigins: string[];
    /** Sustained client messages per second per socket (`WS_MESSAGE_RATE`, default 50). */
    messageRate: number;
    /** Messages a socket may send in a burst (`WS_MESSAGE_BURST`, default 100). */
    messageBurst: number;
    /** Bytes queued for one socket before it is closed as a slow consumer (`WS_MAX_BUFFERED_BYTES`, default 1 MiB). */
    maxBufferedBytes: number;
    /** How long a socket may stay unauthenticated before it is closed (`WS_AUTH_TIMEOUT`, a duration, default 5 s). */
    authTimeoutMs: number;
    /** Unauthenticated sockets per remote IP (`WS_MAX_ANON_PER_IP`, default 16); all of them together never exceed a tenth of `maxConnections`. */
    maxAnonPerIp: number;
    /** Subscriptions one socket may hold (`WS_MAX_SUBSCRIPTIONS`, default 32). */
    maxSubscriptions: number;
    /** How long an instance counts as alive after its last presence heartbeat (`PRESENCE_TTL_MS`, default 10 000 ms). */
    presenceTtlMs: number;
}

/** How a job worker runs (DESIGN §3; `collab-worker --help`). */
export interface WorkerSettings {
    /** Jobs run at once (`WORKER_CONCURRENCY`, default twice the CPU count: a short job spends much of its time waiting on hand-offs). */
    concurrency: number;
    /** How long a stopping worker lets running jobs finish before re-queueing them (`WORKER_GRACE_MS`, default 30 s). */
    graceMs: number;
    /** BullMQ lock of a running job: a dead worker's job is taken over after about this plus `stalledIntervalMs` (`WORKER_LOCK_DURATION_MS`, default 10 s). */
    lockDurationMs: number;
    /** Between two stalled-job checks (`WORKER_STALLED_INTERVAL_MS`, default 5 s). */
    stalledIntervalMs: number;
    /** Between two passes of the reconciler (`WORKER_RECONCILE_INTERVAL_MS`, default 10 s). */
    reconcileIntervalMs: number;
}

/** A configuration mistake: its message is one line naming the variable. */
export class ConfigError extends Error {
    override name = 'ConfigError';
}

/** A joi rule for a duration variable: seconds, or `30s`, `15m`, `7d` (see {@link parseDuration}). */
export const durationSetting = Joi.string().custom((value: string, helpers) => (parseDuration(value) === null ? helpers.error('any.invalid') : value))
    .messages({ 'any.invalid': 'must be seconds or a duration such as 30s, 15m, 7d' });

/** The variables once validated, defaults applied. */
interface Env {
    NODE_ENV: string;
    HOST: string;
    PORT: number;
    DATABASE_URL?: string;
    REDIS_URL: string;
    REDIS_CLUSTER_NODES?: string;
    REDIS_PREFIX: string;
    JWT_SECRET?: string;
    ACCESS_TOKEN_TTL: string;
    REFRESH_TOKEN_TTL: string;
    RATE_LIMIT_USER: number;
    RATE_LIMIT_IP: number;
    RATE_LIMIT_AUTH: number;
    TRUSTED_PROXIES: string;
    COLLAB_SANDBOX: Config['sandbox'];
    COLLAB_SANDBOX_MODE: Config['sandboxMode'];
    JOBS_MAX_ACTIVE_PER_USER: number;
    SANDBOX_DISK_MB: number;
    LOG_LEVEL: string;
    COLLAB_DATA_DIR: string;
    WS_MAX_CONNECTIONS: number;
    WS_MAX_PER_USER: number;
    WS_ALLOWED_ORIGINS: string;
    WS_MESSAGE_RATE: number;
    WS_MESSAGE_BURST: number;
    WS_MAX_BUFFERED_BYTES: number;
    WS_AUTH_TIMEOUT: string;
    WS_MAX_ANON_PER_IP: number;
    WS_MAX_SUBSCRIPTIONS: number;
    PRESENCE_TTL_MS: number;
    WORKER_CONCURRENCY: number;
    WORKER_GRACE_MS: number;
    WORKER_LOCK_DURATION_MS: number;
    WORKER_STALLED_INTERVAL_MS: number;
    WORKER_RECONCILE_INTERVAL_MS: number;
}

const schema = Joi.object<Env>({
    NODE_ENV: Joi.string().default('development'),
    HOST: Joi.string().hostname().default('127.0.0.1'),
    PORT: Joi.number().integer().min(0).max(65535).default(8000),
    DATABASE_URL: Joi.string().uri({ scheme: ['postgres', 'postgresql'] }),
    REDIS_URL: Joi.string().uri({ scheme: ['redis', 'rediss'] }).default('redis://127.0.0.1:6379'),
    REDIS_CLUSTER_NODES: Joi.string().custom((value: string, helpers) => (parseNodes(value) ? value : helpers.error('any.invalid')))
        .messages({ 'any.invalid': 'must be host:port,host:port… (ports 1-65535)' }),
    REDIS_PREFIX: Joi.string().pattern(/^[\w:.-]+$/).default('collab:'),
    JWT_SECRET: Joi.string().min(32).when('NODE_ENV', { is: 'production', then: Joi.required() }),
    ACCESS_TOKEN_TTL: durationSetting.default('15m'),
    REFRESH_TOKEN_TTL: durationSetting.default('7d'),
    RATE_LIMIT_USER: Joi.number().integer().min(1).default(600),
    RATE_LIMIT_IP: Joi.number().integer().min(1).default(300),
    RATE_LIMIT_AUTH: Joi.number().integer().min(1).default(10),
    TRUSTED_PROXIES: Joi.string().allow('').default('')
        .custom((value: string, helpers) => (splitList(value).every(isAddressOrRange) ? value : helpers.error('any.invalid')))
        .messages({ 'any.invalid': 'must be IP addresses or CIDR ranges, comma separated' }),
    COLLAB_SANDBOX: Joi.string().default('bwrap')
        .when('NODE_ENV', { is: 'production', then: Joi.valid('bwrap'), otherwise: Joi.valid('bwrap', 'none') }),
    COLLAB_SANDBOX_MODE: Joi.string().valid('forkserver', 'fresh').default('forkserver'),
    JOBS_MAX_ACTIVE_PER_USER: Joi.number().integer().min(1).default(20),
    SANDBOX_DISK_MB: Joi.number().integer().min(1).max(64 * 1024).default(64),
    LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
    COLLAB_DATA_DIR: Joi.string().default('.collab'),
    WS_MAX_CONNECTIONS: Joi.number().integer().min(1).default(10_000),
    WS_MAX_PER_USER: Joi.number().integer().min(1).default(20),
    WS_ALLOWED_ORIGINS: Joi.string().allow('').default(''),
    WS_MESSAGE_RATE: Joi.number().integer().min(1).default(50),
    WS_MESSAGE_BURST: Joi.number().integer().min(1).default(100),
    WS_MAX_BUFFERED_BYTES: Joi.number().integer().min(64 * 1024).default(1024 * 1024),
    WS_AUTH_TIMEOUT: durationSetting.default('5s'),
    WS_MAX_ANON_PER_IP: Joi.number().integer().min(1).default(16),
    WS_MAX_SUBSCRIPTIONS: Joi.number().integer().min(1).default(32),
    PRESENCE_TTL_MS: Joi.number().integer().min(300).max(60_000).default(10_000),
    WORKER_CONCURRENCY: Joi.number().integer().min(1).default(() => 2 * availableParallelism()),
    WORKER_GRACE_MS: Joi.number().integer().min(0).default(30_000),
    WORKER_LOCK_DURATION_MS: Joi.number().integer().min(1000).default(10_000),
    WORKER_STALLED_INTERVAL_MS: Joi.number().integer().min(200).default(5_000),
    WORKER_RECONCILE_INTERVAL_MS: Joi.number().integer().min(200).default(10_000)
}).unknown(true);

/**
 * Validates the environment once, at start-up. Throws a `ConfigError` whose
 * message names the offending variable. In development a missing
 * `JWT_SECRET` is generated once and kept in `<dataDir>/jwt-secret`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
    const { value, error } = schema.validate(env, { abortEarly: true, errors: { wrap: { label: false } } }) as { value: Env; error?: Joi.ValidationError };
    if (error) {
        const name = String(error.details[0]!.path[0]);
        const reason = name === 'COLLAB_SANDBOX' && env.NODE_ENV === 'production'
            ? 'must be "bwrap" when NODE_ENV=production'
            : error.details[0]!.message.replace(new RegExp(`^${name} `), '');
        throw new ConfigError(`Invalid configuration: ${name} ${reason}`);
    }

    const dataDir = resolve(value.COLLAB_DATA_DIR);
    return {
        nodeEnv: value.NODE_ENV,
        host: value.HOST,
        port: value.PORT,
        databaseUrl: value.DATABASE_URL,
        redisUrl: value.REDIS_URL,
        redisClusterNodes: value.REDIS_CLUSTER_NODES ? parseNodes(value.REDIS_CLUSTER_NODES) : undefined,
        redisPrefix: value.REDIS_PREFIX,
        jwtSecret: value.JWT_SECRET ?? devSecret(dataDir),
        accessTokenTtl: parseDuration(value.ACCESS_TOKEN_TTL)!,
        refreshTokenTtl: parseDuration(value.REFRESH_TOKEN_TTL)!,
        rateLimit: { user: value.RATE_LIMIT_USER, ip: value.RATE_LIMIT_IP, auth: value.RATE_LIMIT_AUTH },
        trustedProxies: splitList(value.TRUSTED_PROXIES),
        sandbox: value.COLLAB_SANDBOX,
        sandboxMode: value.COLLAB_SANDBOX_MODE,
        jobsMaxActivePerUser: value.JOBS_MAX_ACTIVE_PER_USER,
        sandboxDiskMb: value.SANDBOX_DISK_MB,
        logLevel: value.LOG_LEVEL,
        dataDir,
        realtime: {
            maxConnections: value.WS_MAX_CONNECTIONS,
            maxPerUser: value.WS_MAX_PER_USER,
            allowedOrigins: splitList(value.WS_ALLOWED_ORIGINS),
            messageRate: value.WS_MESSAGE_RATE,
            messageBurst: value.WS_MESSAGE_BURST,
            maxBufferedBytes: value.WS_MAX_BUFFERED_BYTES,
            authTimeoutMs: parseDuration(value.WS_AUTH_TIMEOUT)! * 1000,
            maxAnonPerIp: value.WS_MAX_ANON_PER_IP,
            maxSubscriptions: value.WS_MAX_SUBSCRIPTIONS,
            presenceTtlMs: value.PRESENCE_TTL_MS
        },
        worker: {
            concurrency: value.WORKER_CONCURRENCY,
            graceMs: value.WORKER_GRACE_MS,
            lockDurationMs: value.WORKER_LOCK_DURATION_MS,
            stalledIntervalMs: value.WORKER_STALLED_INTERVAL_MS,
            reconcileIntervalMs: value.WORKER_RECONCILE_INTERVAL_MS
        }
    };
}

function splitList(list: string): string[] {
    return list.split(',').map((entry) => entry.trim()).filter(Boolean);
}

/** `10.0.0.7`, `::1`, `10.0.0.0/8`, `fd00::/8`. */
function isAddressOrRange(entry: string): boolean {
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address!);
    if (family === 0 || rest.length > 0) {
        return false;
    }

    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/** `host:port,host:port…` as nodes; undefined when any entry is malformed. */
function parseNodes(list: string): RedisNode[] | undefined {
    const nodes = list.split(',').map((entry) => /^\s*([\w.-]+):(\d{1,5})\s*$/.exec(entry))
        .map((match) => match && { host: match[1]!, port: Number(match[2]) });
    return nodes.every((node) => node && node.port >= 1 && node.port <= 65535) ? nodes as RedisNode[] : undefined;
}

function devSecret(dataDir: string): string {
    const file = join(dataDir, 'jwt-secret');
    try {
        return readFileSync(file, 'utf8').trim();
    }
    catch {
        const secret = randomBytes(48).toString('base64url');
        mkdirSync(dataDir, { recursive: true, mode: 0o700 });
        try {
            writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
            return secret;
        }
        catch {
            return readFileSync(file, 'utf8').trim();     // another process wrote it first
        }
    }
}
