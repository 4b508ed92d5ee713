// REST benchmark (issue: ≥ 2,000 req/s on the project list, p99 ≤ 60 ms; ≥ 1,500 req/s on create).
// One collab-server process on PostgreSQL with everything on (auth, validation, rate limiting with
// limits raised, logging, metrics); autocannon runs in this process, on the other core. The same
// list from a bare node:http + pg server (bench/rest-floor.ts) is measured too, as the floor the
// issue compares with: this machine's speed varies, the ratio much less.
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import autocannon from 'autocannon';

import { createEmptyDatabase } from '../test/helpers/database.js';
import { cleanRedis } from '../test/helpers/server.js';
import { freePort } from '../test/helpers/process.js';
import { until } from '../test/helpers/wait.js';

const BIN = fileURLToPath(new URL('../packages/server/dist/bin.js', import.meta.url));
const FLOOR = fileURLToPath(new URL('./rest-floor.ts', import.meta.url));
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const prefix = `collab-bench-${randomBytes(4).toString('hex')}:`;

const database = await createEmptyDatabase();
const port = await freePort();
const env = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    DATABASE_URL: database.url,
    REDIS_PREFIX: prefix,
    JWT_SECRET: randomBytes(32).toString('hex'),
    RATE_LIMIT_USER: '100000000',
    RATE_LIMIT_IP: '100000000',
    RATE_LIMIT_AUTH: '100000000',
    LOG_LEVEL: 'info'
};

const log = openSync('/dev/null', 'w');
const server = spawn(process.execPath, [BIN, 'start', '--migrate'], { env, stdio: ['ignore', log, 'inherit'] });
const base = `http://127.0.0.1:${port}`;

try {
    await until(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok, 30_000, 'server');
    const json = { 'content-type': 'application/json' };
    const credentials = { email: 'bench@example.com', password: 'benchmark password' };
    await fetch(`${base}/api/auth/register/`, { method: 'POST', headers: json, body: JSON.stringify(credentials) });
    const { access } = await (await fetch(`${base}/api/auth/login/`, { method: 'POST', headers: json, body: JSON.stringify(credentials) })).json() as { access: string };
    const headers = { ...json, authorization: `Bearer ${access}` };
    const me = await (await fetch(`${base}/api/auth/me/`, { headers })).json() as { id: number };
    for (let i = 0; i < 20; ++i) {
        await fetch(`${base}/api/projects/projects/`, { method: 'POST', headers, body: JSON.stringify({ name: `project ${i}`, description: 'benchmark project' }) });
    }

    const measure = async (title: string, options: autocannon.Options) => {
        await autocannon({ ...options, duration: 2 });                     // warm-up
        const result = await autocannon({ ...options, duration: DURATION });
        const errors = result.non2xx + result.errors + result.timeouts;
        return { title, connections: options.connections, requests_per_sec: Math.round(result.requests.average), p50_ms: result.latency.p50, p99_ms: result.latency.p99, non_2xx_or_errors: errors };
    };

    const list = await measure('GET /api/projects/projects/ (20 projects)', { url: `${base}/api/projects/projects/`, connections: 50, headers });
    const floorPort = await freePort();
    const floor = spawn(process.execPath, ['--import', 'tsx', FLOOR], { env: { ...env, PORT: String(floorPort), USER_ID: String(me.id) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let bare;
    try {
        await new Promise((resolve) => floor.stdout.once('data', resolve));
        bare = await measure('the same list, bare node:http + pg (the floor)', { url: `http://127.0.0.1:${floorPort}/`, connections: 50 });
    }
    finally {
        floor.kill();
    }

    const create = await measure('POST /api/projects/projects/', { url: `${base}/api/projects/projects/`, connections: 50, method: 'POST', headers, body: JSON.stringify({ name: 'bench', description: 'created by the benchmark' }) });
    const results = [list, bare, create];
    const list_vs_floor = Math.round(list.requests_per_sec / bare.requests_per_sec * 100) / 100;
    process.stdout.write(JSON.stringify({ benchmark: 'rest', duration_s: DURATION, results, list_vs_floor }, null, 2) + '\n');
}
finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await database.drop();
    await cleanRedis(prefix);
}
