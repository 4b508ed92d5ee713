import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { loggerOptions } from '@collab/core';
import { CollabClient, NotFoundError } from '@collab/sdk';
import { pino } from 'pino';

import { collab } from '../cli/run-cli.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

describe('X-Request-Id', () => {
    const lines: string[] = [];
    let t: TestServer;
    let user: TestUser;
    before(async () => {
        const stream = new Writable({
            write(chunk, _encoding, done) {
                lines.push(String(chunk));
                done();
            }
        });
        t = await startTestServer({ listen: true, env: { LOG_LEVEL: 'info' }, logger: pino(loggerOptions('info', 'collab-test'), stream) });
        user = await t.user();
    });
    after(() => t.stop());

    it('is sent on every response, errors included, and names the request in its log line', async () => {
        const responses = [
            await t.call('GET', '/api/auth/me/', { token: user.access }),
            await t.call('GET', '/api/projects/projects/999999/', { token: user.access }),
            await t.call('POST', '/api/projects/projects/', { token: user.access, payload: { name: 7 } }),
            await t.call('GET', '/api/auth/me/'),
            await t.call('GET', '/nowhere')
        ];
        assert.deepEqual(responses.map((res) => res.statusCode), [200, 404, 400, 401, 404]);
        const ids = responses.map((res) => res.headers['x-request-id'] as string);
        assert.equal(new Set(ids).size, ids.length, 'one id per request');
        for (const id of ids) {
            assert.match(id, /^[\w.:-]{1,128}$/);
            assert.ok(lines.some((line) => JSON.parse(line).req?.id === id), `a log line names ${id}`);
        }
    });

    it('keeps a sane incoming id and replaces one that is not', async () => {
        const kept = await t.call('GET', '/api/auth/me/', { token: user.access, headers: { 'x-request-id': 'edge-7f3a:42' } });
        assert.equal(kept.headers['x-request-id'], 'edge-7f3a:42');
        for (const bad of ['x'.repeat(129), 'has space', 'new\u2028line', '']) {
            const res = await t.call('GET', '/api/auth/me/', { token: user.access, headers: { 'x-request-id': bad } });
            assert.notEqual(res.headers['x-request-id'], bad);
            assert.match(res.headers['x-request-id'] as string, /^[\w.:-]{1,128}$/);
        }
    });

    it('reaches SDK errors, and the CLI shows it when the server fails', async () => {
        const client = new CollabClient({ baseUrl: t.server.info.uri, token: user.access });
        const err = await client.projects.get(999999).catch((e: unknown) => e);
        assert.ok(err instanceof NotFoundError);
        assert.match(err.requestId ?? '', /^[\w.:-]{1,128}$/);

        const home = mkdtempSync(join(tmpdir(), 'collab-cli-'));
        try {
            await t.database.db.destroy();      // every query now fails: the server answers 500
            const run = await collab(home, ['project', 'list', '--server', t.server.info.uri], { env: { COLLAB_TOKEN: user.access } });
            assert.equal(run.code, 1);
            const id = /request ([\w.:-]+)\)/.exec(run.stderr)?.[1];
            assert.ok(id, run.stderr);
            assert.ok(lines.some((line) => JSON.parse(line).req?.id === id && JSON.parse(line).res?.statusCode === 500), 'the failing request is logged under that id');
        }
        finally {
            rmSync(home, { recursive: true, force: true });
        }
    });
});
