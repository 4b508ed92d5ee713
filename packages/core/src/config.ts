import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
    redisPrefix: string;
    jwtSecret: string;
    /** Seconds. */
    accessTokenTtl: number;
    /** Seconds. */
    refreshTokenTtl: number;
    rateLimit: { user: number; ip: number; auth: number };
    sandbox: 'bwrap' | 'none';
    /** Jobs one user may have queued or running at once; the next submit is 429 (`JOBS_MAX_ACTIVE_PER_USER`, default 20). */
    jobsMaxActivePerUser: number;
    /** MiB a job may write, working directory and `/tmp` together (`SANDBOX_DISK_MB`, default 64). */
    sandboxDiskMb: number;
    logLevel: string;
    /** Where the embedded database and the generated development secret live. */
    dataDir: string;
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
    REDIS_PREFIX: string;
    JWT_SECRET?: string;
    ACCESS_TOKEN_TTL: string;
    REFRESH_TOKEN_TTL: string;
    RATE_LIMIT_USER: number;
    RATE_LIMIT_IP: number;
    RATE_LIMIT_AUTH: number;
    COLLAB_SANDBOX: Config['sandbox'];
    JOBS_MAX_ACTIVE_PER_USER: number;
    SANDBOX_DISK_MB: number;
    LOG_LEVEL: string;
    COLLAB_DATA_DIR: string;
}

const schema = Joi.object<Env>({
    NODE_ENV: Joi.string().default('development'),
    HOST: Joi.string().hostname().default('127.0.0.1'),
    PORT: Joi.number().integer().min(0).max(65535).default(8000),
    DATABASE_URL: Joi.string().uri({ scheme: ['postgres', 'postgresql'] }),
    REDIS_URL: Joi.string().uri({ scheme: ['redis', 'rediss'] }).default('redis://127.0.0.1:6379'),
    REDIS_PREFIX: Joi.string().pattern(/^[\w:.-]+$/).default('collab:'),
    JWT_SECRET: Joi.string().min(32).when('NODE_ENV', { is: 'production', then: Joi.required() }),
    ACCESS_TOKEN_TTL: durationSetting.default('15m'),
    REFRESH_TOKEN_TTL: durationSetting.default('7d'),
    RATE_LIMIT_USER: Joi.number().integer().min(1).default(600),
    RATE_LIMIT_IP: Joi.number().integer().min(1).default(300),
    RATE_LIMIT_AUTH: Joi.number().integer().min(1).default(10),
    COLLAB_SANDBOX: Joi.string().default('bwrap')
        .when('NODE_ENV', { is: 'production', then: Joi.valid('bwrap'), otherwise: Joi.valid('bwrap', 'none') }),
    JOBS_MAX_ACTIVE_PER_USER: Joi.number().integer().min(1).default(20),
    SANDBOX_DISK_MB: Joi.number().integer().min(1).max(64 * 1024).default(64),
    LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
    COLLAB_DATA_DIR: Joi.string().default('.collab')
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
        redisPrefix: value.REDIS_PREFIX,
        jwtSecret: value.JWT_SECRET ?? devSecret(dataDir),
        accessTokenTtl: parseDuration(value.ACCESS_TOKEN_TTL)!,
        refreshTokenTtl: parseDuration(value.REFRESH_TOKEN_TTL)!,
        rateLimit: { user: value.RATE_LIMIT_USER, ip: value.RATE_LIMIT_IP, auth: value.RATE_LIMIT_AUTH },
        sandbox: value.COLLAB_SANDBOX,
        jobsMaxActivePerUser: value.JOBS_MAX_ACTIVE_PER_USER,
        sandboxDiskMb: value.SANDBOX_DISK_MB,
        logLevel: value.LOG_LEVEL,
        dataDir
    };
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
