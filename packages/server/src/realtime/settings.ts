import { ConfigError, durationSetting, parseDuration } from '@collab/core';
import Joi from 'joi';

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

const schema = Joi.object({
    WS_MAX_CONNECTIONS: Joi.number().integer().min(1).default(10_000),
    WS_MAX_PER_USER: Joi.number().integer().min(1).default(20),
    WS_ALLOWED_ORIGINS: Joi.string().allow('').default(''),
    WS_MESSAGE_RATE: Joi.number().integer().min(1).default(50),
    WS_MESSAGE_BURST: Joi.number().integer().min(1).default(100),
    WS_MAX_BUFFERED_BYTES: Joi.number().integer().min(64 * 1024).default(1024 * 1024),
    WS_AUTH_TIMEOUT: durationSetting.default('5s'),
    WS_MAX_ANON_PER_IP: Joi.number().integer().min(1).default(16),
    WS_MAX_SUBSCRIPTIONS: Joi.number().integer().min(1).default(32),
    PRESENCE_TTL_MS: Joi.number().integer().min(300).max(60_000).default(10_000)
}).unknown(true);

/** Reads and validates the real-time settings from the environment; throws a one-line `ConfigError` naming the variable. */
export function realtimeSettings(env: NodeJS.ProcessEnv = process.env): RealtimeSettings {
    const { value, error } = schema.validate(env, { abortEarly: true, errors: { wrap: { label: false } } });
    if (error) {
        const name = String(error.details[0]!.path[0]);
        throw new ConfigError(`Invalid configuration: ${name} ${error.details[0]!.message.replace(new RegExp(`^${name} `), '')}`);
    }

    return {
        maxConnections: value.WS_MAX_CONNECTIONS,
        maxPerUser: value.WS_MAX_PER_USER,
        allowedOrigins: String(value.WS_ALLOWED_ORIGINS).split(',').map((origin) => origin.trim()).filter(Boolean),
        messageRate: value.WS_MESSAGE_RATE,
        messageBurst: value.WS_MESSAGE_BURST,
        maxBufferedBytes: value.WS_MAX_BUFFERED_BYTES,
        authTimeoutMs: parseDuration(value.WS_AUTH_TIMEOUT)! * 1000,
        maxAnonPerIp: value.WS_MAX_ANON_PER_IP,
        maxSubscriptions: value.WS_MAX_SUBSCRIPTIONS,
        presenceTtlMs: value.PRESENCE_TTL_MS
    };
}
