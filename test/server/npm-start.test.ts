import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CollabClient } from '@collab/sdk';
import { GLIBC_TUNABLES } from '@collab/server';

import { REDIS_URL, testPrefix } from '../helpers/config.js';
import { freePort, run } from '../helpers/process.js';
import { nodeProcesses, startedWithTunables } from '../helpers/proc.js';
import { cleanRedis } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `npm start` as the README has a newcomer run it: embedded database, API and worker in one process, real sandbox. */
describe('npm start', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'collab-start-'));
    const prefix = testPrefix();
    after(async () => {
        rmSync(dataDir, { recursive: true, force: true });
        await cleanRedis(prefix);
    });

    it('serves the API and the web console from an empty data directory and completes a sandboxed job through its own worker', { timeout: 240_000 }, async () => {
        const port = await freePort();
        const env = { PATH: process.env.PATH, HOME: dataDir, PORT: String(port), REDIS_URL, REDIS_PREFIX: prefix, COLLAB_DATA_DIR: dataDir, LOG_LEVEL: 'info' };
        // In a process group of its own, as in a terminal, where Ctrl-C reaches npm and the server alike.
        const child = run('npm', ['start'], { cwd: ROOT, env, detached: true });
        const pid = child.process.pid!;
        const alive = () => {
            try {
                process.kill(-pid, 0);
                return true;
            }
            catch {
                return false;
            }
        };
        try {
            const baseUrl = `http://127.0.0.1:${port}`;
            await until(async () => (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 200, 180_000, `npm start to serve ${baseUrl}`, child.stderr);
            assert.ok(existsSync(join(dataDir, 'jwt-secret')), 'a development secret was generated in the data directory');
            const servers = nodeProcesses(pid, 'scripts/start.js');
            assert.equal(servers.length, 1);
            assert.ok(startedWithTunables(servers[0]!, GLIBC_TUNABLES), 'the server runs with its malloc settings');
            const page = await fetch(`${baseUrl}/`);
            assert.equal(page.status, 200);
            assert.match(await page.text(), /<title>collab<\/title>[\s\S]*assets\/main-/, 'the web console at /');

            const client = new CollabClient({ baseUrl });
            await client.auth.register({ email: 'new@example.com', password: 'first five minutes' });
            await client.auth.login({ email: 'new@example.com', password: 'first five minutes' });
            const { job_id: id } = await client.jobs.submit({ code: "print('Hello World')", language: 'python' });
            const job = await client.jobs.wait(id);
            assert.deepEqual([job.status, job.stdout, job.exit_code], ['succeeded', 'Hello World\n', 0]);
            await client.realtime.close();
        }
        finally {
            process.kill(-pid, 'SIGINT');
        }

        await until(() => !alive(), 30_000, 'every process of npm start to exit');
        assert.match(child.stdout(), /"msg":"server stopped"/, child.stderr());
        assert.doesNotMatch(child.stdout() + child.stderr(), /"level":(50|60)/, 'no error was logged');
    });
});
