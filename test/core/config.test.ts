import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ConfigError, loadConfig } from '@collab/core';

describe('loadConfig()', () => {
    const secret = 'x'.repeat(32);

    it('applies the documented defaults', () => {
        const dir = mkdtempSync(join(tmpdir(), 'collab-config-'));
        try {
            const config = loadConfig({ COLLAB_DATA_DIR: dir });
            assert.equal(config.host, '127.0.0.1');
            assert.equal(config.port, 8000);
            assert.equal(config.databaseUrl, undefined);
            assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
            assert.equal(config.redisClusterNodes, undefined);
            assert.equal(config.redisPrefix, 'collab:');
            assert.equal(config.accessTokenTtl, 15 * 60);
            assert.equal(config.refreshTokenTtl, 7 * 86400);
            assert.deepEqual(config.rateLimit, { user: 600, ip: 300, auth: 10 });
            assert.equal(config.sandbox, 'bwrap');
            assert.equal(config.sandboxMode, 'forkserver');
            assert.equal(config.logLevel, 'info');
            assert.equal(config.jobsMaxActivePerUser, 20);
            assert.equal(config.sandboxDiskMb, 64);
            assert.deepEqual(config.realtime, {
                maxConnections: 10_000,
                maxPerUser: 20,
                allowedOrigins: [],
                messageRate: 50,
                messageBurst: 100,
                maxBufferedBytes: 1024 * 1024,
                authTimeoutMs: 5_000,
                maxAnonPerIp: 16,
                maxSubscriptions: 32,
                presenceTtlMs: 10_000
            });
            assert.deepEqual(config.worker, { concurrency: 2 * availableParallelism(), graceMs: 30_000, lockDurationMs: 10_000, stalledIntervalMs: 5_000, reconcileIntervalMs: 10_000 });
        }
        finally {
            rmSync(dir, { recursive: true });
        }
    });

    it('generates a development secret once and keeps it private', () => {
        const dir = mkdtempSync(join(tmpdir(), 'collab-config-'));
        try {
            const first = loadConfig({ COLLAB_DATA_DIR: dir }).jwtSecret;
            assert.ok(first.length >= 32);
            assert.equal(loadConfig({ COLLAB_DATA_DIR: dir }).jwtSecret, first);
            assert.equal(readFileSync(join(dir, 'jwt-secret'), 'utf8').trim(), first);
            assert.equal(statSync(join(dir, 'jwt-secret')).mode & 0o777, 0o600);
        }
        finally {
            rmSync(dir, { recursive: true });
        }
    });

    it('reads the real-time and worker sections from their variables', () => {
        const config = loadConfig({
            JWT_SECRET: secret, WS_MAX_CONNECTIONS: '5', WS_MAX_PER_USER: '2', WS_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
            WS_AUTH_TIMEOUT: '2s', WS_MAX_ANON_PER_IP: '3', WS_MAX_SUBSCRIPTIONS: '4', PRESENCE_TTL_MS: '3000',
            WORKER_CONCURRENCY: '3', WORKER_GRACE_MS: '0', JOBS_MAX_ACTIVE_PER_USER: '7', SANDBOX_DISK_MB: '16'
        });
        assert.deepEqual(
            [config.realtime.maxConnections, config.realtime.maxPerUser, config.realtime.allowedOrigins, config.realtime.authTimeoutMs, config.realtime.maxAnonPerIp, config.realtime.maxSubscriptions, config.realtime.presenceTtlMs],
            [5, 2, ['https://a.example', 'https://b.example'], 2000, 3, 4, 3000]
        );
        assert.deepEqual([config.worker.concurrency, config.worker.graceMs, config.jobsMaxActivePerUser, config.sandboxDiskMb], [3, 0, 7, 16]);
    });

    it('reads REDIS_CLUSTER_NODES as a list of nodes', () => {
        const config = loadConfig({ JWT_SECRET: secret, REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b.internal:7001,127.0.0.1:7002' });
        assert.deepEqual(config.redisClusterNodes, [
            { host: '10.0.0.1', port: 7000 },
            { host: 'redis-b.internal', port: 7001 },
            { host: '127.0.0.1', port: 7002 }
        ]);
    });

    it('reads TRUSTED_PROXIES as addresses and CIDR ranges', () => {
        assert.deepEqual(loadConfig({ JWT_SECRET: secret }).trustedProxies, []);
        assert.deepEqual(loadConfig({ JWT_SECRET: secret, TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8,::1,fd00::/8' }).trustedProxies, ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
    });

    it('parses durations', () => {
        const config = loadConfig({ JWT_SECRET: secret, ACCESS_TOKEN_TTL: '30s', REFRESH_TOKEN_TTL: '2d' });
        assert.equal(config.accessTokenTtl, 30);
        assert.equal(config.refreshTokenTtl, 172800);
        assert.equal(loadConfig({ JWT_SECRET: secret, ACCESS_TOKEN_TTL: '90' }).accessTokenTtl, 90);
    });

    const bad: Array<[Record<string, string>, string]> = [
        [{ NODE_ENV: 'production' }, 'JWT_SECRET'],
        [{ NODE_ENV: 'production', JWT_SECRET: 'short' }, 'JWT_SECRET'],
        [{ PORT: 'abc' }, 'PORT'],
        [{ PORT: '70000' }, 'PORT'],
        [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
        [{ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL'],
        [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
        [{ TRUSTED_PROXIES: 'nginx' }, 'TRUSTED_PROXIES'],
        [{ TRUSTED_PROXIES: '10.0.0.0/33' }, 'TRUSTED_PROXIES'],
        [{ TRUSTED_PROXIES: '10.0.0.1/8/1' }, 'TRUSTED_PROXIES'],
        [{ REDIS_CLUSTER_NODES: '' }, 'REDIS_CLUSTER_NODES'],
        [{ REDIS_CLUSTER_NODES: '127.0.0.1' }, 'REDIS_CLUSTER_NODES'],
        [{ REDIS_CLUSTER_NODES: '127.0.0.1:7000,' }, 'REDIS_CLUSTER_NODES'],
        [{ REDIS_CLUSTER_NODES: 'redis://127.0.0.1:7000' }, 'REDIS_CLUSTER_NODES'],
        [{ REDIS_CLUSTER_NODES: '127.0.0.1:70000' }, 'REDIS_CLUSTER_NODES'],
        [{ ACCESS_TOKEN_TTL: '15 minutes' }, 'ACCESS_TOKEN_TTL'],
        [{ RATE_LIMIT_AUTH: '0' }, 'RATE_LIMIT_AUTH'],
        [{ COLLAB_SANDBOX: 'docker' }, 'COLLAB_SANDBOX'],
        [{ NODE_ENV: 'production', JWT_SECRET: 'y'.repeat(40), COLLAB_SANDBOX: 'none' }, 'COLLAB_SANDBOX'],
        [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
        [{ WS_MAX_PER_USER: 'many' }, 'WS_MAX_PER_USER'],
        [{ WS_MAX_BUFFERED_BYTES: '10' }, 'WS_MAX_BUFFERED_BYTES'],
        [{ WS_AUTH_TIMEOUT: 'soon' }, 'WS_AUTH_TIMEOUT'],
        [{ WS_MAX_SUBSCRIPTIONS: '0' }, 'WS_MAX_SUBSCRIPTIONS'],
        [{ WORKER_CONCURRENCY: 'many' }, 'WORKER_CONCURRENCY'],
        [{ WORKER_GRACE_MS: '-1' }, 'WORKER_GRACE_MS'],
        [{ JOBS_MAX_ACTIVE_PER_USER: '0' }, 'JOBS_MAX_ACTIVE_PER_USER'],
        [{ SANDBOX_DISK_MB: 'lots' }, 'SANDBOX_DISK_MB']
    ];
    for (const [env, variable] of bad) {
        it(`refuses ${JSON.stringify(env)} naming ${variable}`, () => {
            assert.throws(() => loadConfig({ ...(env.NODE_ENV === 'production' ? {} : { JWT_SECRET: secret }), ...env }), (err: Error) => {
                assert.ok(err instanceof ConfigError);
                assert.match(err.message, new RegExp(`\\b${variable}\\b`));
                assert.doesNotMatch(err.message, /\n/);
                return true;
            });
        });
    }
});
