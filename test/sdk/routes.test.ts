import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ROUTES } from '@collab/sdk';

import { expandPath } from '../../packages/sdk/src/routes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** `METHOD /path/{}`: parameter names and trailing slash do not matter; `{path*}` is `{path}` in swagger. */
const key = (method: string, path: string) => `${method.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '{}').replace(/\/$/, '')}`;

describe('the SDK route table', () => {
    let t: TestServer;
    let spec: Set<string>;

    before(async () => {
        t = await startTestServer();
        const res = await t.server.inject('/swagger.json');
        assert.equal(res.statusCode, 200, '/swagger.json is not served yet');
        const paths = (JSON.parse(res.payload) as { paths: Record<string, Record<string, unknown>> }).paths;
        spec = new Set(Object.entries(paths).flatMap(([path, operations]) => Object.keys(operations).filter((m) => METHODS.includes(m)).map((m) => key(m, path))));
    });
    after(() => t?.stop());

    it('uses the trailing-slash form of every path, except file paths', () => {
        for (const [name, route] of Object.entries(ROUTES)) {
            assert.ok(route.path.endsWith('/') || route.path.endsWith('*}'), name);
        }
    });

    it('calls only routes the spec has, with the same method', () => {
        const missing = Object.entries(ROUTES)
            .filter(([, route]) => !spec.has(key(route.method, route.path)))
            .map(([name, route]) => `${name}: ${route.method} ${route.path}`);
        assert.deepEqual(missing, []);
    });

    it('reaches a route of the server for every call, which asks for a token exactly when the SDK sends one', async () => {
        const params = { id: 1, user_id: 1, job_id: '00000000-0000-4000-8000-000000000000', path: 'dir/a.txt' };
        const wrong: string[] = [];
        for (const [name, route] of Object.entries(ROUTES)) {
            const res = await t.server.inject({ method: route.method, url: expandPath(route.path, params) });
            // Without a token a route that needs one is 401 (hapi answers 404 before auth when no route matches).
            const expected = 'auth' in route ? res.statusCode !== 401 && res.statusCode !== 404 : res.statusCode === 401;
            if (!expected) {
                wrong.push(`${name}: ${route.method} ${route.path} is ${res.statusCode} without a token`);
            }
        }

        assert.deepEqual(wrong, []);
    });

    it('covers every /api/ route of the spec', () => {
        const covered = new Set(Object.values(ROUTES).map((route) => key(route.method, route.path)));
        assert.deepEqual([...spec].filter((route) => route.split(' ')[1]!.startsWith('/api/') && !covered.has(route)), []);
    });
});
