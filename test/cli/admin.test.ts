import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { WORKER_TTL_MS } from '@collab/core';
import type { SystemStats } from '@collab/sdk';

import { REDIS_URL } from '../helpers/config.js';
import { createTestDatabase, onPglite, type TestDatabase } from '../helpers/database.js';
import { run as spawnChild, type Child } from '../helpers/process.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { CLI, collab, makeHome, start, type Running } from './run-cli.js';

const SERVER_BIN = fileURLToPath(new URL('../../packages/server/src/bin.ts', import.meta.url));
const WORKER_BIN = fileURLToPath(new URL('../../packages/worker/src/bin.ts', import.meta.url));
const PASSWORD = 'correct horse battery';

/** Administration through the real binaries, across two server instances sharing a database and Redis. */
describe('collab admin', { skip: onPglite && 'needs PostgreSQL (several processes)', timeout: 180_000 }, () => {
    let database: TestDatabase;
    let env: Record<string, string>;
    let a: TestServer;
    let b: TestServer;
    let adminHome: string;
    let victimHome: string;
    let victim: TestUser;
    let worker: Child | undefined;
    const tails: Running[] = [];

    /** Runs a binary from source with the deployment's environment. */
    const node = (bin: string, args: string[], input?: string) => spawnChild(process.execPath, ['--conditions=source', '--import', 'tsx', bin, ...args], {
        env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: database.url!, REDIS_URL, LOG_LEVEL: 'warn', COLLAB_SANDBOX: 'bwrap', WORKER_CONCURRENCY: '1', ...env },
        input
    });
    const adminOk = async (args: string[]) => {
        const res = await collab(adminHome, args);
        assert.equal(res.code, 0, `collab ${args.join(' ')}: ${res.stderr}`);
        return res.stdout;
    };
    const stats = async () => JSON.parse(await adminOk(['admin', 'stats', '--json'])) as SystemStats;
    const workspaceOf = async (t: TestServer, user: TestUser) => {
        const project = await t.call('POST', '/api/projects/projects/', { token: user.access, payload: { name: 'P' } });
        const workspace = await t.call('POST', `/api/projects/projects/${(project.result as { id: number }).id}/workspaces/`, { token: user.access, payload: { name: 'W' } });
        return (workspace.result as { id: number }).id;
    };
    const login = async (home: string, server: TestServer, email: string) => {
        const res = await collab(home, ['login', '--server', server.server.info.uri, '--email', email, '--password-stdin'], { input: `${PASSWORD}\n` });
        assert.equal(res.code, 0, res.stderr);
    };

    before(async () => {
        assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npx tsc -b packages/sdk bin)`);
        database = await createTestDatabase();
        env = { REDIS_PREFIX: `collab-test-${randomUUID().slice(0, 8)}:`, JWT_SECRET: randomBytes(32).toString('hex') };
        a = await startTestServer({ listen: true, database, env });
        b = await startTestServer({ listen: true, database, env });
        adminHome = makeHome();
        victimHome = makeHome();

        const adminEmail = `admin-${randomUUID().slice(0, 8)}@example.com`;
        const created = node(SERVER_BIN, ['create-admin', '--email', adminEmail, '--name', 'Root'], `${PASSWORD}\n`);
        assert.equal(await created.exited, 0, created.stderr());
        assert.match(created.stdout(), /^Created admin /);
        await login(adminHome, a, adminEmail);

        victim = await b.user('victim');
        await login(victimHome, b, victim.email);
    });
    after(async () => {
        worker?.process.kill('SIGKILL');
        tails.forEach((tail) => tail.process.kill('SIGKILL'));
        rmSync(adminHome, { recursive: true, force: true });
        rmSync(victimHome, { recursive: true, force: true });
        await a.stop();
        await b.stop();
        await database.drop();
    });

    it('shows the sockets of both instances and the running worker', async () => {
        const adminUser = await a.user('watcher');
        const watcherHome = makeHome();
        try {
            await login(watcherHome, a, adminUser.email);
            tails.push(start(watcherHome, ['ws', 'tail', String(await workspaceOf(a, adminUser))]));
            tails.push(start(victimHome, ['ws', 'tail', String(await workspaceOf(b, victim))]));
            const workersBefore = (await stats()).workers.length;
            worker = node(WORKER_BIN, []);
            const live = await until(async () => {
                const now = await stats();
                const busy = Object.values(now.sockets).filter((n) => n >= 1);
                return busy.length === 2 && now.workers.length === workersBefore + 1 && now;
            }, 30_000, 'two instances with sockets and the worker', () => worker!.stderr());
            assert.equal(Object.keys(live.sockets).length, 2);
            const advertised = live.workers.find((w) => w.id.includes(`-${worker!.process.pid}-`));
            assert.ok(advertised, JSON.stringify(live.workers));
            assert.deepEqual([advertised.languages.includes('python'), advertised.concurrency, advertised.running], [true, 1, 0]);

            const human = await adminOk(['admin', 'stats']);
            assert.match(human, /^Users: +\d+$/m);
            assert.match(human, /^Sockets: 2 on 2 instances$/m);
            assert.match(human, /^Workers: 1$/m);
            assert.match(human, new RegExp(`^  ${advertised.id} +\\S*python\\S* +1 +0 +\\d+ s ago$`, 'm'));
            assert.match(await adminOk(['admin', 'users', '-q', 'VICTIM']), new RegExp(`^\\d+ +${victim.email} +victim +no +yes +\\S+$`, 'm'));
        }
        finally {
            rmSync(watcherHome, { recursive: true, force: true });
        }
    });

    it('deactivates a user: their tail on the other instance ends with a clear message, their REST calls and refresh fail', async () => {
        const tail = tails[1]!;
        const set = await adminOk(['admin', 'user', 'set', String(victim.id), '--inactive']);
        assert.match(set, /^Active: +no$/m);
        const ended = await Promise.race([tail.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 15_000))]);
        assert.ok(ended, 'the tail is still running');
        assert.equal(ended.code, 1);
        assert.match(ended.stderr, /Your account has been deactivated: ask an administrator\.\n$/);

        const saved = JSON.parse(readFileSync(join(victimHome, 'config/collab/credentials.json'), 'utf8')) as { servers: Record<string, { refresh: string }> };
        const whoami = await collab(victimHome, ['whoami']);
        assert.deepEqual([whoami.code, whoami.stdout], [1, '']);
        assert.match(whoami.stderr, /^Your login has expired: run collab login\.\n$/);
        const refresh = await a.call('POST', '/api/auth/refresh/', { payload: { refresh: saved.servers[b.server.info.uri]!.refresh } });
        assert.equal(refresh.statusCode, 401);
        const relogin = await collab(victimHome, ['login', '--email', victim.email, '--password-stdin'], { input: `${PASSWORD}\n` });
        assert.equal(relogin.code, 1);
    });

    it('refuses to retry an unknown job, and non-admins', async () => {
        const unknown = await collab(adminHome, ['admin', 'job', 'retry', 'job_unknown000001']);
        assert.deepEqual(unknown, { code: 1, stdout: '', stderr: 'Cannot retry job job_unknown000001: job not found.\n' });
        const member = await a.user('plain');
        const home = makeHome();
        try {
            await login(home, a, member.email);
            const refused = await collab(home, ['admin', 'stats']);
            assert.deepEqual([refused.code, refused.stderr], [1, 'Cannot show the statistics: administrators only.\n']);
        }
        finally {
            rmSync(home, { recursive: true, force: true });
        }
    });

    it('drops a worker killed without withdrawing from the stats within its heartbeat TTL', async () => {
        const id = (await stats()).workers.find((w) => w.id.includes(`-${worker!.process.pid}-`))!.id;
        worker!.process.kill('SIGKILL');
        await worker!.exited;
        const killed = Date.now();
        await until(async () => !(await stats()).workers.some((w) => w.id === id), WORKER_TTL_MS + 30_000, 'the dead worker to disappear');
        // The advert outlives the worker by the TTL at most (slack for a loaded machine).
        assert.ok(Date.now() - killed <= WORKER_TTL_MS + 5_000, `took ${Date.now() - killed} ms, TTL ${WORKER_TTL_MS} ms`);
    });
});
