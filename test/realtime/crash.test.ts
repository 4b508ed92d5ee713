import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import { REDIS_URL, testPrefix } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort, run, type Child } from '../helpers/process.js';
import { cleanRedis } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const BIN = fileURLToPath(new URL('../../packages/server/src/bin.ts', import.meta.url));
const GARBAGE = [Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from([0x00, 0x01]), Buffer.from('{not json')];

/** Opens a raw socket, sends `frames` the moment it opens and drops it at once (close or cut). */
function sendAndDrop(port: number, path: string, frames: Array<Buffer | string>, how: 'close' | 'terminate'): Promise<void> {
    return new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
        const timer = setTimeout(() => {
            ws.terminate();
            resolve();
        }, 5000);
        const done = () => {
            clearTimeout(timer);
            resolve();
        };
        ws.on('error', () => undefined);
        ws.on('unexpected-response', done);
        ws.once('open', () => {
            for (const frame of frames) {
                ws.send(frame, { binary: Buffer.isBuffer(frame) });
            }

            ws[how]();
        });
        ws.once('close', done);
    });
}

describe('a collab-server process under hostile sockets', () => {
    let database: TestDatabase;
    let server: Child;
    let port: number;
    let token: string;
    let workspaceId: number;
    const prefix = testPrefix();

    const http = async (method: string, url: string, payload?: unknown, access?: string) => {
        const res = await fetch(`http://127.0.0.1:${port}${url}`, {
            method,
            headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...(access ? { authorization: `Bearer ${access}` } : {}) },
            body: payload === undefined ? undefined : JSON.stringify(payload)
        });
        return { status: res.status, body: await res.json().catch(() => null) as Record<string, unknown> | null };
    };

    const assertServing = async () => {
        assert.equal(server.process.exitCode, null, `collab-server exited: ${server.stderr()}`);
        assert.equal(server.process.signalCode, null);
        assert.equal((await http('GET', '/healthz')).status, 200);
    };

    before(async () => {
        database = await createTestDatabase();
        port = await freePort();
        server = run(process.execPath, ['--conditions=source', '--import', 'tsx', BIN, 'start'], {
            env: {
                PATH: process.env.PATH,
                NODE_ENV: 'test',
                HOST: '127.0.0.1',
                PORT: String(port),
                ...(database.url ? { DATABASE_URL: database.url } : {}),
                REDIS_URL,
                REDIS_PREFIX: prefix,
                JWT_SECRET: randomBytes(32).toString('hex'),
                LOG_LEVEL: 'silent',
                RATE_LIMIT_USER: '1000000',
                RATE_LIMIT_IP: '1000000',
                RATE_LIMIT_AUTH: '1000000',
                COLLAB_DATA_DIR: `/tmp/collab-crash-${randomUUID()}`
            }
        });
        await until(async () => server.process.exitCode === null && (await http('GET', '/healthz').catch(() => ({ status: 0 }))).status === 200, 30_000, 'collab-server listening');

        const email = `crash-${randomUUID().slice(0, 8)}@example.com`;
        await http('POST', '/api/auth/register/', { email, password: 'correct horse battery', name: 'c' });
        token = (await http('POST', '/api/auth/login/', { email, password: 'correct horse battery' })).body!.access as string;
        const project = await http('POST', '/api/projects/projects/', { name: 'P' }, token);
        const workspace = await http('POST', `/api/projects/projects/${project.body!.id as number}/workspaces/`, { name: 'W' }, token);
        workspaceId = workspace.body!.id as number;
    });

    after(async () => {
        if (server.process.exitCode === null && server.process.signalCode === null) {
            server.process.kill('SIGTERM');
            await server.exited;
        }

        await cleanRedis(prefix);
        await database.drop();
    });

    it('stays up when unparsable frames are sent and the socket dropped at once, on every path nes serves', async () => {
        for (let round = 0; round < 10; round++) {
            await Promise.all(['/', '/anything', '/yjs/x/y', '/nes?x=1'].flatMap((path) => [
                sendAndDrop(port, path, GARBAGE, 'close'),
                sendAndDrop(port, path, GARBAGE, 'terminate')
            ]));
        }

        await assertServing();
    });

    it('stays up when a hello with a bad token, a request or a subscribe is sent and the socket dropped at once', async () => {
        const hello = (auth: string) => JSON.stringify({ type: 'hello', id: 1, version: '2', auth: { headers: { authorization: `Bearer ${auth}` } } });
        const request = JSON.stringify({ type: 'request', id: 2, method: 'GET', path: '/api/projects/projects/' });
        const sub = JSON.stringify({ type: 'sub', id: 3, path: `/workspaces/${workspaceId}` });
        const resume = JSON.stringify({ type: 'sub', id: 4, path: `/workspaces/${workspaceId}/since/0` });
        const exchanges = [
            [hello('not-a-token')],
            [hello('not-a-token'), request, sub],
            [hello(token), request],
            [hello(token), sub],
            [hello(token), resume],
            [hello(token), JSON.stringify({ type: 'reauth', id: 5, auth: { headers: { authorization: 'Bearer bad' } } })],
            [request],
            [sub]
        ];
        for (let round = 0; round < 5; round++) {
            await Promise.all(exchanges.flatMap((frames) => [sendAndDrop(port, '/', frames, 'close'), sendAndDrop(port, '/', frames, 'terminate')]));
        }

        await assertServing();
    });
});
