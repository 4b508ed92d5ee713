import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ROUTES, type RouteName } from '@collab/sdk';

import { startTestServer, type TestServer } from '../helpers/server.js';

/** SDK routes whose server side is not written yet. Each must really be absent from the spec: remove it here when it lands. */
const PENDING: RouteName[] = [];

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
            .filter(([name, route]) => !spec.has(key(route.method, route.path)) && !PENDING.includes(name as RouteName))
            .map(([name, route]) => `${name}: ${route.method} ${route.path}`);
        assert.deepEqual(missing, []);
    });

    it('lists as pending only routes that are really not in the spec', () => {
        const landed = PENDING.filter((name) => spec.has(key(ROUTES[name].method, ROUTES[name].path)));
        assert.deepEqual(landed, [], 'these routes are in /swagger.json now: remove them from PENDING');
    });

    it('covers every /api/ route of the spec', () => {
        const covered = new Set(Object.values(ROUTES).map((route) => key(route.method, route.path)));
        assert.deepEqual([...spec].filter((route) => route.split(' ')[1]!.startsWith('/api/') && !covered.has(route)), []);
    });
});
