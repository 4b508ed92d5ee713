import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { REDIS_URL, testPrefix } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { run, type Child } from '../helpers/process.js';
import { cleanRedis } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/shutdown-server.ts', import.meta.url));

function lines(child: Child): Array<Record<string, unknown>> {
    return child.stdout().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('installShutdown()', { concurrency: true }, () => {
    const prefix = testPrefix();
    let database: TestDatabase;
    const children: Child[] = [];

    async function start(env: Record<string, string> = {}): Promise<{ child: Child; url: string }> {
        const child = run(process.execPath, ['--conditions=source', '--import', 'tsx', FIXTURE], {
            env: {
                ...process.env,
                NODE_ENV: 'test',
                DATABASE_URL: database.url!,
                REDIS_URL,
                REDIS_PREFIX: prefix,
                JWT_SECRET: randomBytes(32).toString('hex'),
                // The fixture runs no job: only the server's own stop is tested.
                COLLAB_SANDBOX: 'none',
                LOG_LEVEL: 'info',
                ...env
            }
        });
        children.push(child);
        const port = await until(() => lines(child).find((line) => line.port)?.port, 60_000, `the server to listen (${child.stderr()})`);
        return { child, url: `http://127.0.0.1:${port}` };
    }

    before(async () => {
        database = await createTestDatabase({ embedded: false });
    });
    after(async () => {
        for (const child of children) {
            child.process.kill('SIGKILL');
        }

        await cleanRedis(prefix);
        await database.drop();
    });

    it('lets an in-flight request finish on SIGTERM, refuses new connections, then exits 0', async () => {
        const { child, url } = await start();
        const slow = fetch(`${url}/slow?ms=1500`);
        await until(() => lines(child).some((line) => line.slow === 'started'), 10_000, 'the slow request to start');

        let slowEnded = false;
        void slow.finally(() => {
            slowEnded = true;
        }).catch(() => undefined);
        child.process.kill('SIGTERM');
        await until(() => lines(child).some((line) => /shutting down/.test(String(line.msg))), 5_000, 'the shutdown to start');
        // hapi stops listening once every plugin's onPreStop is done, a few ms after the log line: from then on, while
        // the in-flight request still runs, a new connection is refused (not reset, not served).
        const attempt = async () => {
            try {
                await fetch(`${url}/healthz`);
                return 'served';
            }
            catch (err) {
                return String((err as { cause?: { code?: string } }).cause?.code);
            }
        };
        await until(async () => await attempt() === 'ECONNREFUSED', 1_000, 'new connections to be refused while draining');
        assert.equal(slowEnded, false, 'refused while the in-flight request still ran');

        const res = await slow;
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { slept: 1500 });
        assert.equal(await child.exited, 0, child.stderr());
        assert.ok(lines(child).some((line) => line.msg === 'server stopped'));
    });

    it('exits 0 on SIGINT without waiting out the drain timeout when nothing is in flight', async () => {
        const timeoutMs = 30_000;
        const { child } = await start({ SHUTDOWN_TIMEOUT_MS: String(timeoutMs) });
        const started = Date.now();
        child.process.kill('SIGINT');
        assert.equal(await child.exited, 0, child.stderr());
        assert.ok(Date.now() - started < timeoutMs, `exited ${Date.now() - started} ms after SIGINT`);
    });

    it('exits non-zero when the server does not stop cleanly', async () => {
        const { child } = await start({ FAIL_STOP: '1' });
        child.process.kill('SIGTERM');
        assert.equal(await child.exited, 1);
        assert.ok(lines(child).some((line) => line.msg === 'server did not stop cleanly'));
    });

    it('exits 1 when stopping hangs past the deadline', async () => {
        const { child } = await start({ HANG_STOP: '1', SHUTDOWN_TIMEOUT_MS: '200' });
        const started = Date.now();
        child.process.kill('SIGTERM');
        assert.equal(await child.exited, 1);
        assert.ok(Date.now() - started >= 5_000, 'waited for the deadline (timeout + 5 s)');
        assert.ok(lines(child).some((line) => line.msg === 'server did not stop in time: exiting'));
    });
});
