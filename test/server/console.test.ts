import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { startTestServer, type TestServer } from '../helpers/server.js';

/** What `npm run build` writes for the console (the tests run after a build). */
const BUILT = fileURLToPath(new URL('../../packages/server/dist/console/', import.meta.url));

/** The first page load's budget, compressed (issue: ≤ 300 KiB). */
const BUDGET_BYTES = 300 * 1024;

const GZIP = { 'accept-encoding': 'gzip' };

/** The scripts and styles `index.html` names. */
function assetsOf(html: string): string[] {
    return [...html.matchAll(/(?:src|href)="assets\/([^"]+)"/g)].map((match) => match[1]!);
}

describe('the web console at /', () => {
    let t: TestServer;
    let html: string;

    before(async () => {
        t = await startTestServer({ env: { RATE_LIMIT_IP: '3' } });
        html = (await t.server.inject('/')).payload;
    });
    after(() => t?.stop());

    it('serves index.html at / without a token, revalidated on every load', async () => {
        for (const url of ['/', '/?from=bookmark']) {
            const res = await t.server.inject(url);
            assert.equal(res.statusCode, 200, url);
            assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/);
            assert.equal(res.headers['cache-control'], 'no-cache');
            assert.match(res.payload, /<script type="module" src="assets\/main-[A-Z0-9]+\.js"><\/script>/);
        }
    });

    it('sends a Content-Security-Policy that allows only the console\'s own scripts, with a fresh style nonce each time', async () => {
        const [first, second] = [await t.server.inject('/'), await t.server.inject('/')];
        const csp = String(first.headers['content-security-policy']);
        const directives = new Map(csp.split(';').map((part) => {
            const [name, ...values] = part.trim().split(/\s+/);
            return [name!, values];
        }));
        assert.deepEqual(directives.get('script-src'), ["'self'"]);
        assert.deepEqual(directives.get('default-src'), ["'self'"]);
        assert.deepEqual(directives.get('object-src'), ["'none'"]);
        assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
        assert.doesNotMatch(csp, /unsafe-eval/);
        const nonce = /'nonce-([A-Za-z0-9+/=]{22,})'/.exec(String(directives.get('style-src')))?.[1];
        assert.ok(nonce, csp);
        assert.ok(first.payload.includes(`nonce="${nonce}"`), 'the page carries its nonce');
        assert.notEqual(second.headers['content-security-policy'], csp);
        assert.ok(!second.payload.includes(nonce));
        assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)/, 'no inline script in the page');
    });

    it('serves the hashed files gzipped, cached for good, and identical to the build', async () => {
        const names = assetsOf(html);
        assert.ok(names.some((name) => name.endsWith('.js')) && names.some((name) => name.endsWith('.css')), html);
        for (const name of names) {
            const zipped = await t.server.inject({ url: `/assets/${name}`, headers: GZIP });
            assert.equal(zipped.statusCode, 200, name);
            assert.equal(zipped.headers['content-encoding'], 'gzip', name);
            assert.equal(zipped.headers['cache-control'], 'public, max-age=31536000, immutable', name);
            assert.match(String(zipped.headers['content-type']), name.endsWith('.js') ? /javascript/ : /text\/css/);
            const original = readFileSync(join(BUILT, 'assets', name));
            assert.deepEqual(gunzipSync(zipped.rawPayload), original, name);

            const plain = await t.server.inject(`/assets/${name}`);
            assert.equal(plain.headers['content-encoding'], undefined);
            assert.deepEqual(plain.rawPayload, original);
        }
    });

    it('keeps everything the console can load within the first-load budget of 300 KiB compressed', async () => {
        let total = (await t.server.inject({ url: '/', headers: GZIP })).rawPayload.length;
        const files = readdirSync(join(BUILT, 'assets')).filter((name) => !name.endsWith('.gz'));
        for (const name of files) {
            const res = await t.server.inject({ url: `/assets/${name}`, headers: GZIP });
            assert.equal(res.statusCode, 200, name);
            total += res.rawPayload.length;
        }

        assert.ok(files.length >= 2, 'the build wrote its files');
        assert.ok(total <= BUDGET_BYTES, `${total} bytes compressed is over the budget of ${BUDGET_BYTES}`);
        const raw = files.reduce((sum, name) => sum + statSync(join(BUILT, 'assets', name)).size, 0);
        assert.ok(total < raw / 2, 'the files are sent compressed');
    });

    it('answers 404 for any other name under /assets, including the .gz files and paths out of the folder', async () => {
        const [first] = assetsOf(html);
        for (const url of [`/assets/${first}.gz`, '/assets/main-UNKNOWN1.js', '/assets/..%2F..%2Fpackage.json', '/assets/index.html', '/assets/%2e%2e/package.json', '/assets/']) {
            const res = await t.server.inject(url);
            assert.equal(res.statusCode, 404, url);
            assert.doesNotMatch(res.payload, /<html/, url);
        }
    });

    it('shadows none of the API, socket, documents, docs and operations paths', async () => {
        const expected: [string, number, RegExp][] = [
            ['/api/projects/projects/', 401, /application\/json/],
            ['/api/no-such-route/', 404, /application\/json/],
            ['/ws/workspaces/1/', 404, /application\/json/],
            ['/yjs/1/main.py', 404, /application\/json/],
            ['/swagger/', 200, /text\/html/],
            ['/swagger.json', 200, /application\/json/],
            ['/healthz', 200, /application\/json/],
            ['/readyz', 200, /application\/json/],
            ['/metrics', 200, /text\/plain/],
            ['/nes', 404, /application\/json/]
        ];
        for (const [url, status, type] of expected) {
            const res = await t.server.inject(url);
            assert.equal(res.statusCode, status, url);
            assert.match(String(res.headers['content-type']), type, url);
            assert.equal(res.headers['content-security-policy'], undefined, url);
        }
    });

    it('leaves the console out of the Swagger spec', async () => {
        const spec = (await t.server.inject('/swagger.json')).result as { paths: Record<string, unknown> };
        assert.equal('/' in spec.paths, false);
        assert.equal('/assets/{name}' in spec.paths, false);
    });

    it('is not rate limited: a page load fetches several files from one address', async () => {
        for (let i = 0; i < 8; ++i) {
            const res = await t.server.inject({ url: '/', remoteAddress: '203.0.113.9' });
            assert.equal(res.statusCode, 200, `load ${i + 1}`);
        }
    });
});
