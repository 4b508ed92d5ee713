import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createEmptyDatabase, onPglite } from '../helpers/database.js';
import { REDIS_URL, testPrefix } from '../helpers/config.js';
import { cleanRedis } from '../helpers/server.js';
import { freePort, run } from '../helpers/process.js';
import { until } from '../helpers/wait.js';

const BIN = fileURLToPath(new URL('../../packages/server/dist/bin.js', import.meta.url));

describe('collab-server binary', () => {
    let database: Awaited<ReturnType<typeof createEmptyDatabase>> | undefined;
    let dataDir: string;
    const prefix = testPrefix();
    const base = () => ({
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        JWT_SECRET: randomBytes(32).toString('hex'),
        REDIS_URL,
        REDIS_PREFIX: prefix,
        LOG_LEVEL: 'warn',
        COLLAB_DATA_DIR: dataDir
    });

    before(async () => {
        dataDir = mkdtempSync(join(tmpdir(), 'collab-bin-'));
        database = onPglite ? undefined : await createEmptyDatabase();
    });

    after(async () => {
        await database?.drop();
        await cleanRedis(prefix);
        rmSync(dataDir, { recursive: true, force: true });
    });

    for (const [env, variable] of [[{ PORT: 'abc' }, 'PORT'], [{ JWT_SECRET: '' }, 'JWT_SECRET'], [{ DATABASE_URL: 'nonsense' }, 'DATABASE_URL']] as const) {
        it(`stops with one line naming ${variable} when it is invalid`, async () => {
            const child = run(process.execPath, [BIN, 'start'], { env: { ...base(), ...env } });
            const code = await child.exited;
            assert.notEqual(code, 0);
            const lines = child.stderr().trim().split('\n');
            assert.equal(lines.length, 1, child.stderr());
            assert.match(lines[0]!, new RegExp(variable));
        });
    }

    it('migrates, starts on a fresh database, reaches /readyz and stops on SIGTERM with 0', async () => {
        const env = { ...base(), ...(database ? { DATABASE_URL: database.url } : {}) };
        const migrate = run(process.execPath, [BIN, 'migrate'], { env });
        assert.equal(await migrate.exited, 0, migrate.stderr());
        assert.match(migrate.stdout(), /Applied \d+ migration/);

        const port = await freePort();
        const server = run(process.execPath, [BIN, 'start'], { env: { ...env, PORT: String(port) } });
        try {
            const ready = await until(async () => {
                const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
                return res?.status === 200 && res.json();
            }, 20_000, '/readyz');
            assert.equal((ready as { status: string }).status, 'ok');
        }
        finally {
            server.process.kill('SIGTERM');
        }

        assert.equal(await server.exited, 0, server.stderr());
    });

    it('creates an admin with the password on stdin, then promotes an existing user', async () => {
        const env = { ...base(), ...(database ? { DATABASE_URL: database.url } : {}) };
        const create = run(process.execPath, [BIN, 'create-admin', '--email', 'Root@Example.com', '--name', 'Root'], { env, input: 'a long password\n' });
        assert.equal(await create.exited, 0, create.stderr());
        assert.match(create.stdout(), /Created admin root@example.com/);

        const again = run(process.execPath, [BIN, 'create-admin', '--email', 'root@example.com'], { env, input: '' });
        assert.equal(await again.exited, 0, again.stderr());
        assert.match(again.stdout(), /Promoted root@example.com/);

        const short = run(process.execPath, [BIN, 'create-admin', '--email', 'other@example.com'], { env, input: 'short\n' });
        assert.notEqual(await short.exited, 0);
        assert.match(short.stderr(), /password/);

        const bad = run(process.execPath, [BIN, 'create-admin'], { env, input: '' });
        assert.notEqual(await bad.exited, 0);
        assert.match(bad.stderr(), /--email/);
    });
});
