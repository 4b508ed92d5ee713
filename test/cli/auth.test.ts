import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as wait } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import Jwt from '@hapi/jwt';

import { CLI, collab } from './run-cli.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

describe('collab login, whoami, logout', () => {
    let t: TestServer;
    let url: string;
    let home: string;
    let user: TestUser;
    const PASSWORD = 'correct horse battery';
    const credentials = () => JSON.parse(readFileSync(join(home, 'config/collab/credentials.json'), 'utf8')) as { servers: Record<string, { access: string; refresh: string; email: string }> };

    before(async () => {
        assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npx tsc -b bin)`);
        t = await startTestServer({ listen: true, env: { ACCESS_TOKEN_TTL: '2s' } });
        url = t.server.info.uri;
        home = mkdtempSync(join(tmpdir(), 'collab-cli-'));
        user = await t.user('cli');
    });
    after(async () => {
        rmSync(home, { recursive: true, force: true });
        await t.stop();
    });

    it('logs in with --password-stdin, saving the tokens with mode 0600 and the server as default', async () => {
        const run = await collab(home, ['login', '--server', url, '--email', user.email, '--password-stdin'], { input: `${PASSWORD}\n` });
        assert.deepEqual(run, { code: 0, stdout: `Logged in to ${url} as ${user.email}.\n`, stderr: '' });

        const dir = join(home, 'config/collab');
        assert.equal(statSync(dir).mode & 0o777, 0o700);
        for (const file of ['credentials.json', 'config.json']) {
            assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file);
        }

        assert.equal(credentials().servers[url]!.email, user.email);
        assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), { server: url });
    });

    it('shows who is logged in on the remembered server, for people and as JSON', async () => {
        const human = await collab(home, ['whoami']);
        assert.equal(human.code, 0, human.stderr);
        assert.match(human.stdout, new RegExp(`^Email: +${user.email}$`, 'm'));
        assert.match(human.stdout, new RegExp(`^Server: +${url}$`, 'm'));

        const json = await collab(home, ['whoami', '--json']);
        assert.equal(json.code, 0);
        assert.deepEqual({ ...JSON.parse(json.stdout), created_at: undefined }, { server: url, id: user.id, email: user.email, name: 'cli', is_admin: false, created_at: undefined });
    });

    it('refreshes an expired access token and saves the new pair', async () => {
        const before = credentials().servers[url]!;
        await wait(3100);
        const run = await collab(home, ['whoami', '--json']);
        assert.equal(run.code, 0, run.stderr);
        const saved = credentials().servers[url]!;
        assert.notEqual(saved.access, before.access);
        assert.notEqual(saved.refresh, before.refresh);
        assert.equal(statSync(join(home, 'config/collab/credentials.json')).mode & 0o777, 0o600);
    });

    it('keeps the login when several collab processes refresh it at once', async () => {
        // Presenting a rotated refresh token revokes the whole session, so only one process may refresh it.
        const shared = mkdtempSync(join(tmpdir(), 'collab-cli-'));
        try {
            const login = await collab(shared, ['login', '--server', url, '--email', user.email, '--password-stdin'], { input: `${PASSWORD}\n` });
            assert.equal(login.code, 0, login.stderr);
            // A lock left by a collab killed while refreshing does not block the others.
            const dead = spawnSync('true').pid;
            writeFileSync(join(shared, 'config/collab/credentials.lock'), String(dead));
            await wait(3100);
            const runs = await Promise.all(Array.from({ length: 6 }, () => collab(shared, ['whoami', '--json'])));
            for (const run of runs) {
                assert.equal(run.code, 0, run.stderr);
                assert.equal(JSON.parse(run.stdout).email, user.email);
            }

            await wait(3100);
            const later = await collab(shared, ['whoami', '--json']);
            assert.equal(later.code, 0, later.stderr);
            assert.equal(readdirSync(join(shared, 'config/collab')).sort().join(), 'config.json,credentials.json');
        }
        finally {
            rmSync(shared, { recursive: true, force: true });
        }
    });

    it('says "Wrong email or password." in one line with exit code 1', async () => {
        const run = await collab(home, ['login', '--email', user.email, '--password-stdin'], { input: 'not the password\n' });
        assert.deepEqual(run, { code: 1, stdout: '', stderr: 'Wrong email or password.\n' });
    });

    it('names the URL of a server it cannot reach', async () => {
        const run = await collab(home, ['whoami', '--server', 'http://127.0.0.1:9'], { env: { COLLAB_TOKEN: 'x' } });
        assert.deepEqual(run, { code: 1, stdout: '', stderr: 'Cannot reach the collab server at http://127.0.0.1:9.\n' });
        const login = await collab(home, ['login', '--server', 'http://127.0.0.1:9', '--email', user.email, '--password-stdin'], { input: 'x\n' });
        assert.equal(login.stderr, 'Cannot reach the collab server at http://127.0.0.1:9.\n');
    });

    it('refuses to prompt without a terminal or with --json (exit code 2)', async () => {
        const run = await collab(home, ['login', '--json']);
        assert.equal(run.code, 2);
        assert.equal(run.stderr.split('\n').length, 2);
        const noPassword = await collab(home, ['login', '--email', user.email]);
        assert.equal(noPassword.code, 2);
        assert.match(noPassword.stderr, /--password-stdin/);
    });

    it('lets COLLAB_TOKEN and COLLAB_SERVER override the saved login', async () => {
        const other = await t.user('env');
        // The server's tokens live 2 s here, less than a busy machine may take to start the CLI: one signed for a minute.
        const token = Jwt.token.generate({ sub: String(other.id), email: other.email, typ: 'access' }, { key: t.config.jwtSecret, algorithm: 'HS256' }, { ttlSec: 60 });
        const run = await collab(home, ['whoami', '--json'], { env: { COLLAB_TOKEN: token, COLLAB_SERVER: url } });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(JSON.parse(run.stdout).email, other.email);

        const elsewhere = await collab(home, ['whoami'], { env: { COLLAB_SERVER: 'http://127.0.0.1:9' } });
        assert.equal(elsewhere.stderr, 'You are not logged in to http://127.0.0.1:9: run collab login.\n');
    });

    it('says the login has expired when the refresh token is dead too', async () => {
        const saved = credentials().servers[url]!;
        await t.call('POST', '/api/auth/logout/', { payload: { refresh: saved.refresh } });
        await wait(3100);
        const run = await collab(home, ['whoami']);
        assert.deepEqual(run, { code: 1, stdout: '', stderr: 'Your login has expired: run collab login.\n' });
    });

    it('logs out, forgetting the tokens', async () => {
        await collab(home, ['login', '--email', user.email, '--password-stdin'], { input: `${PASSWORD}\n` });
        const { refresh } = credentials().servers[url]!;
        const run = await collab(home, ['logout']);
        assert.deepEqual(run, { code: 0, stdout: `Logged out of ${url}.\n`, stderr: '' });
        assert.equal(credentials().servers[url], undefined);
        assert.equal((await t.call('POST', '/api/auth/refresh/', { payload: { refresh } })).statusCode, 401);

        const after = await collab(home, ['whoami']);
        assert.deepEqual(after, { code: 1, stdout: '', stderr: `You are not logged in to ${url}: run collab login.\n` });
    });
});
