import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
            assert.equal(config.redisPrefix, 'collab:');
            assert.equal(config.accessTokenTtl, 15 * 60);
            assert.equal(config.refreshTokenTtl, 7 * 86400);
            assert.deepEqual(config.rateLimit, { user: 600, ip: 300, auth: 10 });
            assert.equal(config.sandbox, 'bwrap');
            assert.equal(config.logLevel, 'info');
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
        [{ ACCESS_TOKEN_TTL: '15 minutes' }, 'ACCESS_TOKEN_TTL'],
        [{ RATE_LIMIT_AUTH: '0' }, 'RATE_LIMIT_AUTH'],
        [{ COLLAB_SANDBOX: 'docker' }, 'COLLAB_SANDBOX'],
        [{ NODE_ENV: 'production', JWT_SECRET: 'y'.repeat(40), COLLAB_SANDBOX: 'none' }, 'COLLAB_SANDBOX'],
        [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL']
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
