import { randomBytes, randomUUID } from 'node:crypto';

import { loadConfig, type Config } from '@collab/core';

/** The Redis tests use; each test file gets its own key prefix on it. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A unique Redis prefix for one test file. */
export function testPrefix(): string {
    return `collab-test-${randomUUID().slice(0, 8)}:`;
}

/**
 * A valid configuration for tests: its own Redis prefix, a random secret, no logs, generous rate limits,
 * and the real sandbox (bwrap), so every job a test runs is run as in production; a test that sets
 * `COLLAB_SANDBOX: 'none'` says why.
 */
export function testConfig(env: Record<string, string> = {}): Config {
    return loadConfig({
        NODE_ENV: 'test',
        PORT: '0',
        REDIS_URL,
        REDIS_PREFIX: testPrefix(),
        JWT_SECRET: randomBytes(32).toString('hex'),
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        RATE_LIMIT_USER: '100000',
        RATE_LIMIT_IP: '100000',
        RATE_LIMIT_AUTH: '100000',
        COLLAB_SANDBOX: 'bwrap',
        ...env
    });
}
