import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { GLIBC_TUNABLES } from '@collab/server';

import { createEmptyDatabase } from '../helpers/database.js';
import { REDIS_URL, testPrefix } from '../helpers/config.js';
import { cleanRedis } from '../helpers/server.js';
import { freePort, run } from '../helpers/process.js';
import { startedWithTunables } from '../helpers/proc.js';
import { until } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the published collab-server package', () => {
    let folder: string;
    let database: Awaited<ReturnType<typeof createEmptyDatabase>>;
    const prefix = testPrefix();

    before(async () => {
        folder = mkdtempSync(join(tmpdir(), 'collab-pack-'));
        database = await createEmptyDatabase();
    });

    after(async () => {
        await database.drop();
        await cleanRedis(prefix);
        rmSync(folder, { recursive: true, force: true });
    });

    it('installs from its tarball into an empty folder and serves the API and the web console', { timeout: 240_000 }, async () => {
        const pack = run('npm', ['pack', '-w', '@collab/protocol', '-w', '@collab/core', '-w', '@collab/server', '--pack-destination', folder], { cwd: ROOT });
        assert.equal(await pack.exited, 0, pack.stderr());
        const tarballs = readdirSync(folder).filter((name) => name.endsWith('.tgz'));
        assert.equal(tarballs.length, 3);

        const app = join(folder, 'app');
        mkdirSync(app);
        writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
        const install = run('npm', ['install', '--no-audit', '--no-fund', ...tarballs.map((name) => join(folder, name))], { cwd: app });
        assert.equal(await install.exited, 0, install.stderr());

        const bin = join(app, 'node_modules', '.bin', 'collab-server');
        const env = { PATH: process.env.PATH, NODE_ENV: 'production', JWT_SECRET: randomBytes(32).toString('hex'), DATABASE_URL: database.url, REDIS_URL, REDIS_PREFIX: prefix, LOG_LEVEL: 'warn' };
        const migrate = run(bin, ['migrate'], { env, cwd: app });
        assert.equal(await migrate.exited, 0, migrate.stderr());

        const port = await freePort();
        const server = run(bin, ['start'], { env: { ...env, PORT: String(port) }, cwd: app });
        try {
            const ready = await until(async () => {
                const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
                return res?.status === 200;
            }, 30_000, 'the packed server to be ready');
            assert.equal(ready, true);
            assert.ok(startedWithTunables(server.process.pid!, GLIBC_TUNABLES), 'the installed bin runs node with the malloc settings');
            const res = await fetch(`http://127.0.0.1:${port}/swagger.json`);
            const spec = await res.json() as { paths: object };
            assert.equal(res.status, 200, JSON.stringify(spec));
            assert.ok(Object.keys(spec.paths).length > 10);

            const page = await fetch(`http://127.0.0.1:${port}/`);
            const html = await page.text();
            assert.equal(page.status, 200, html);
            const script = /src="(assets\/main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
            assert.ok(script, `the packed server serves the web console: ${html}`);
            const asset = await fetch(`http://127.0.0.1:${port}/${script}`, { headers: { 'accept-encoding': 'gzip' } });
            assert.equal(asset.status, 200);
            assert.equal(asset.headers.get('content-encoding'), 'gzip');
            assert.match(await asset.text(), /sessionStorage/);
        }
        finally {
            server.process.kill('SIGTERM');
        }

        assert.equal(await server.exited, 0, server.stderr());
    });
});
