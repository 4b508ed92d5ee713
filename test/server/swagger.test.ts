import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { RequestRoute } from '@hapi/hapi';
import Joi from 'joi';

import { startTestServer, type TestServer } from '../helpers/server.js';

interface Operation {
    summary?: string;
    tags?: string[];
    responses?: Record<string, { schema?: unknown }>;
}

type Spec = { paths: Record<string, Record<string, Operation>>; securityDefinitions: Record<string, unknown>; security: unknown[] };

const BODY_METHODS = ['post', 'put', 'patch'];

/** `/a/{id}/files/{path*}` → `/a/{id}/files/{path}`, so hapi's and the spec's spellings compare equal. */
function normalPath(path: string): string {
    return path.replace(/\{(\w+)[*?]?\d*\}/g, '{$1}');
}

function apiRoutes(t: TestServer): RequestRoute[] {
    return t.server.table().filter((route) => route.path.startsWith('/api/'));
}

describe('swagger', () => {
    let t: TestServer;
    let spec: Spec;
    before(async () => {
        t = await startTestServer();
        const res = await t.server.inject('/swagger.json');
        assert.equal(res.statusCode, 200);
        spec = res.result as Spec;
    });
    after(() => t.stop());

    it('serves the UI at /swagger/ and redirects /swagger there', async () => {
        const redirect = await t.server.inject('/swagger');
        assert.ok([301, 302].includes(redirect.statusCode));
        assert.equal(redirect.headers.location, '/swagger/');

        const page = await t.server.inject('/swagger/');
        assert.equal(page.statusCode, 200);
        assert.match(page.payload, /swagger-ui-bundle\.js/);
        assert.doesNotMatch(page.payload, /(src|href)="(https?:)?\/\//, 'the page loads nothing from another host');
    });

    it('offers a Bearer "Authorize" scheme for every operation', () => {
        assert.deepEqual(spec.securityDefinitions.Bearer, { type: 'apiKey', name: 'Authorization', in: 'header', description: 'Bearer <access token>' });
        assert.deepEqual(spec.security, [{ Bearer: [] }]);
    });

    it('documents every operation with a description, tags and a 2xx response schema', () => {
        const problems: string[] = [];
        for (const [path, methods] of Object.entries(spec.paths)) {
            for (const [method, op] of Object.entries(methods)) {
                const where = `${method.toUpperCase()} ${path}`;
                if (!op.summary?.trim()) {
                    problems.push(`${where}: no description`);
                }

                if (!op.tags?.length) {
                    problems.push(`${where}: no tags`);
                }

                const success = Object.entries(op.responses ?? {}).filter(([code]) => /^2\d\d$/.test(code));
                if (!success.length || success.some(([code, response]) => code !== '204' && !response.schema)) {
                    problems.push(`${where}: no 2xx response schema`);
                }
            }
        }

        assert.deepEqual(problems, []);
        assert.ok(Object.keys(spec.paths).length >= 5);
    });

    it('lists every /api/ route of the server, each with tags, description, validation and response schemas', () => {
        const documented = new Map(Object.entries(spec.paths).map(([path, methods]) => [normalPath(path), methods]));
        const problems: string[] = [];
        for (const route of apiRoutes(t)) {
            const where = `${route.method.toUpperCase()} ${route.path}`;
            const settings = route.settings;
            const methods = route.method === '*' ? ['get', 'post', 'put', 'patch', 'delete'] : [route.method];
            if (!methods.some((method) => documented.get(normalPath(route.path))?.[method])) {
                problems.push(`${where}: missing from /swagger.json`);
            }

            if (!settings.tags?.includes('api')) {
                problems.push(`${where}: not tagged 'api'`);
            }

            if (!settings.description) {
                problems.push(`${where}: no description`);
            }

            if (!Object.keys(settings.response?.status ?? {}).some((code) => /^2\d\d$/.test(code))) {
                problems.push(`${where}: no 2xx response.status schema`);
            }

            if (route.path.includes('{') && !settings.validate?.params) {
                problems.push(`${where}: path parameters not validated`);
            }

            if (BODY_METHODS.includes(route.method) && settings.validate?.payload === undefined) {
                problems.push(`${where}: payload not validated`);
            }
        }

        assert.deepEqual(problems, []);
    });

    it('answers every parameterless GET under /api/ without a server error', async () => {
        const user = await t.user('swagger');
        for (const route of apiRoutes(t).filter((r) => r.method === 'get' && !r.path.includes('{'))) {
            const res = await t.call('GET', route.path, { token: user.access });
            assert.ok(res.statusCode < 500, `GET ${route.path}: ${res.statusCode} ${res.payload}`);
        }
    });

    it('turns a response that does not match its schema into a 500', async () => {
        const schema = Joi.object({ id: Joi.number().integer().required() });
        t.server.route([
            { method: 'GET', path: '/schema-check/right', options: { auth: false, response: { status: { 200: schema } }, handler: () => ({ id: 1 }) } },
            { method: 'GET', path: '/schema-check/wrong', options: { auth: false, response: { status: { 200: schema } }, handler: () => ({ id: 'one', extra: true }) } }
        ]);

        assert.equal((await t.server.inject('/schema-check/right')).statusCode, 200);
        const wrong = await t.server.inject('/schema-check/wrong');
        assert.equal(wrong.statusCode, 500);
        assert.doesNotMatch(wrong.payload, /extra|one/, 'the 500 reveals nothing of the response');
    });
});
