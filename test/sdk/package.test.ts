import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { build } from 'esbuild';

import { run } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const root = fileURLToPath(new URL('../../packages/sdk/', import.meta.url));
const sources = (readdirSync(join(root, 'src'), { recursive: true }) as string[]).filter((file) => file.endsWith('.ts'));

describe('the @collab/sdk package', () => {
    it('uses no Node built-in, so that it runs in browsers (ws only in the Node platform module; Yjs and its provider are browser-safe)', () => {
        const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
        for (const file of sources) {
            const text = readFileSync(join(root, 'src', file), 'utf8');
            for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
                assert.ok(!builtins.has(specifier!), `${file} imports ${specifier}`);
                const allowed = specifier!.startsWith('.') || specifier === '#platform/websocket' || specifier === '@collab/protocol' || specifier!.startsWith('@hapi/nes/')
                    || /^(yjs|y-websocket|y-protocols\/\w+)$/.test(specifier!)
                    || (specifier === 'ws' && file === join('platform', 'websocket.node.ts'));
                assert.ok(allowed, `${file} imports ${specifier}`);
            }

            assert.doesNotMatch(text, /\b(process|Buffer|require|__dirname)\b[.(]/, file);
        }
    });

    it('is ESM with type declarations, shipping only dist', () => {
        const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
        assert.equal(pkg.type, 'module');
        assert.deepEqual((pkg.files as string[]).filter((entry) => !entry.startsWith('!')), ['dist']);
        assert.deepEqual((pkg.exports as Record<string, unknown>)['.'], { source: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' });
        assert.deepEqual(Object.keys(pkg.dependencies as object), ['@collab/protocol', '@hapi/nes', 'lib0', 'ws', 'y-protocols', 'y-websocket', 'yjs']);
    });

    it('bundles for browsers without ws or any Node module', async () => {
        const bundle = await build({ entryPoints: [join(root, 'src', 'index.ts')], bundle: true, platform: 'browser', format: 'esm', conditions: ['source'], write: false, logLevel: 'silent' });
        const text = bundle.outputFiles[0]!.text;
        assert.doesNotMatch(text, /websocket\.node|PerMessageDeflate|require\("(node:)?\w+"\)/);
        assert.match(text, /globalThis\.WebSocket/);
    });
});

/** Packs the SDK and the CLI, installs both tarballs into an empty folder and uses them from there. */
describe('the packed @collab/sdk and @collab/cli', { timeout: 240_000 }, () => {
    let t: TestServer;
    let dir: string;
    let email: string;
    const repo = fileURLToPath(new URL('../../', import.meta.url));
    const sh = async (command: string, args: string[], options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}) => {
        const child = run(command, args, { cwd: options.cwd ?? dir, input: options.input ?? '', env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'config'), ...options.env } });
        const code = await child.exited;
        return { code, stdout: child.stdout(), stderr: child.stderr() };
    };

    before(async () => {
        t = await startTestServer({ listen: true });
        email = (await t.user('packed')).email;
        dir = mkdtempSync(join(tmpdir(), 'collab-packed-'));
        const pack = await sh('npm', ['pack', '--workspace', '@collab/protocol', '--workspace', '@collab/sdk', '--workspace', '@collab/cli', '--pack-destination', dir], { cwd: repo });
        assert.equal(pack.code, 0, pack.stderr);
        const tarballs = readdirSync(dir).filter((file) => file.endsWith('.tgz')).sort();
        assert.deepEqual(tarballs, ['collab-cli-0.1.0.tgz', 'collab-protocol-0.1.0.tgz', 'collab-sdk-0.1.0.tgz']);
        for (const tarball of tarballs) {
            const listed = (await sh('tar', ['-tzf', tarball])).stdout.split('\n').filter(Boolean);
            assert.ok(listed.includes('package/dist/index.js') || listed.includes('package/dist/collab.js'), tarball);
            assert.deepEqual(listed.filter((file) => !/^package\/(dist\/|package\.json$|launch\.js$|README|LICENSE)/.test(file)), [], `${tarball} ships only dist (and the CLI its launcher)`);
        }

        const install = await sh('npm', ['install', ...tarballs.map((file) => `./${file}`), '--no-audit', '--no-fund']);
        assert.equal(install.code, 0, install.stderr);
    });
    after(async () => {
        rmSync(dir, { recursive: true, force: true });
        await t.stop();
    });

    it('runs collab from the installed tarball: --help, then login', async () => {
        const help = await sh('npx', ['collab', '--help']);
        assert.equal(help.code, 0, help.stderr);
        assert.match(help.stdout, /^Usage: collab /);
        assert.match(help.stdout, /^ {2}admin /m);
        const login = await sh('npx', ['collab', 'login', '--server', t.server.info.uri, '--email', email, '--password-stdin'], { input: 'correct horse battery\n' });
        assert.deepEqual([login.code, login.stdout], [0, `Logged in to ${t.server.info.uri} as ${email}.\n`]);
        const whoami = await sh('npx', ['collab', 'whoami', '--json']);
        assert.equal(JSON.parse(whoami.stdout).email, email);
    });

    it('imports @collab/sdk from the installed tarball: logs in, and subscribes with no WebSocket option', async () => {
        const script = `
            import { CollabClient } from '@collab/sdk';
            const client = new CollabClient({ baseUrl: process.argv[1] });
            await client.auth.login({ email: process.argv[2], password: 'correct horse battery' });
            const project = await client.projects.create({ name: 'packed' });
            const workspace = await client.workspaces.create(project.id, { name: 'W' });
            let resolve;
            const received = new Promise((r) => (resolve = r));
            const stop = await client.realtime.subscribe(workspace.id, (event) => event.seq && resolve(event));
            await client.events.send(workspace.id, { event: 'hello', payload: { from: 'tarball' } });
            const event = await received;
            stop();
            console.log(JSON.stringify({ me: (await client.auth.me()).email, event: event.event, payload: event.payload }));
        `;
        const res = await sh(process.execPath, ['--input-type=module', '-e', script, t.server.info.uri, email]);
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual(JSON.parse(res.stdout), { me: email, event: 'hello', payload: { from: 'tarball' } });
    });
});
