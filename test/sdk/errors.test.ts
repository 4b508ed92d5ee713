import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';

import {
    AuthenticationError,
    CollabClient,
    CollabError,
    ConflictError,
    ConnectionError,
    NotFoundError,
    PermissionError,
    RateLimitError,
    ServerError,
    ValidationError
} from '@collab/sdk';

import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => async () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('errors', () => {
    let t: TestServer;
    let owner: TestUser;
    let viewer: TestUser;
    let client: CollabClient;
    let projectId: number;
    const errors: unknown[] = [];
    const failing = async (promise: Promise<unknown>): Promise<CollabError> => {
        const err = await promise.then(() => assert.fail('expected a rejection'), (e: unknown) => e);
        assert.ok(err instanceof CollabError, String(err));
        errors.push(err);
        return err;
    };

    before(async () => {
        t = await startTestServer({ listen: true });
        owner = await t.user('owner');
        viewer = await t.user('viewer');
        client = new CollabClient({ baseUrl: t.server.info.uri, token: owner.access, refreshToken: owner.refresh });
        projectId = (await client.projects.create({ name: 'Guarded' })).id;
        await client.members.add(projectId, { email: viewer.email, role: 'viewer' });
    });
    after(() => t.stop());

    it('is a NotFoundError for what the caller cannot see', async () => {
        const err = await failing(client.projects.get(999999));
        assert.ok(err instanceof NotFoundError);
        assert.deepEqual([err.status, err.code, err.message], [404, 'not_found', 'Project not found']);
    });

    it('is a PermissionError for what the role does not allow', async () => {
        const asViewer = new CollabClient({ baseUrl: t.server.info.uri, token: viewer.access, refreshToken: viewer.refresh });
        const err = await failing(asViewer.projects.update(projectId, { name: 'mine' }));
        assert.ok(err instanceof PermissionError);
        assert.deepEqual([err.status, err.code], [403, 'forbidden']);
        assert.match(err.message, /viewer/);
    });

    it('is a ValidationError naming the field', async () => {
        const err = await failing(client.projects.create({ name: '' }));
        assert.ok(err instanceof ValidationError);
        assert.deepEqual([err.status, err.code, err.field], [400, 'validation_failed', 'name']);
    });

    it('is a ConflictError carrying the body', async () => {
        const err = await failing(client.members.setRole(projectId, owner.id, 'viewer'));
        assert.ok(err instanceof ConflictError);
        assert.equal(err.status, 409);
        assert.equal(err.body?.statusCode, 409);

        const stale = new CollabClient({ baseUrl: 'http://collab.test', fetch: json(409, { statusCode: 409, error: 'Conflict', message: 'Stale epoch', epoch: 'k3v9' }) });
        const epoch = await failing(stale.events.history(1, { after: 3, epoch: 'old' }));
        assert.ok(epoch instanceof ConflictError);
        assert.equal(epoch.body?.epoch, 'k3v9');
    });

    it('is an AuthenticationError for a wrong password', async () => {
        const err = await failing(new CollabClient({ baseUrl: t.server.info.uri }).auth.login({ email: owner.email, password: 'wrong password' }));
        assert.ok(err instanceof AuthenticationError);
        assert.deepEqual([err.status, err.code], [401, 'unauthorized']);
    });

    it('is a RateLimitError with retryAfter, and keeps the request id', async () => {
        const limited = new CollabClient({ baseUrl: 'http://collab.test', maxRetries: 0, fetch: json(429, { statusCode: 429, error: 'Too Many Requests', message: 'Rate limit exceeded' }, { 'retry-after': '17', 'x-request-id': 'req-42' }) });
        const err = await failing(limited.auth.me());
        assert.ok(err instanceof RateLimitError);
        assert.deepEqual([err.status, err.code, err.retryAfter, err.requestId], [429, 'rate_limited', 17, 'req-42']);
    });

    it('is a ValidationError for 413 and a ServerError for 5xx', async () => {
        const big = await failing(new CollabClient({ baseUrl: 'http://collab.test', fetch: json(413, { statusCode: 413, error: 'Payload Too Large', message: 'Payload content length greater than maximum allowed: 1048576' }) }).files.put(1, 'a', { content: 'x' }));
        assert.ok(big instanceof ValidationError);
        assert.equal(big.code, 'payload_too_large');
        const broken = await failing(new CollabClient({ baseUrl: 'http://collab.test', maxRetries: 0, fetch: async () => new Response('oops', { status: 502 }) }).auth.me());
        assert.ok(broken instanceof ServerError);
        assert.deepEqual([broken.status, broken.code, broken.message], [502, 'server_error', 'oops']);
    });

    it('is a ConnectionError naming the base URL when nothing answers', async () => {
        const unreachable = new CollabClient({ baseUrl: 'http://127.0.0.1:9/prefix/', token: owner.access, refreshToken: owner.refresh, maxRetries: 0 });
        const err = await failing(unreachable.auth.me());
        assert.ok(err instanceof ConnectionError);
        assert.deepEqual([err.status, err.code], [0, 'connection_failed']);
        assert.equal(err.message, 'Could not connect to the collab server at http://127.0.0.1:9/prefix');
    });

    it('never shows a token or a password in any error', async () => {
        const echo = new CollabClient({
            baseUrl: 'http://collab.test',
            token: owner.access,
            refreshToken: owner.refresh,
            fetch: async (_input, init) => new Response(JSON.stringify({ statusCode: 400, error: 'Bad Request', message: `bad ${String(init?.body)} ${JSON.stringify(init?.headers)}` }), { status: 400, headers: { 'content-type': 'application/json' } })
        });
        await failing(echo.auth.logout());
        await failing(echo.auth.login({ email: owner.email, password: 'correct horse battery' }));
        await failing(echo.projects.list());

        assert.ok(errors.length >= 10);
        for (const err of errors) {
            const text = `${inspect(err, { showHidden: true, depth: 10 })} ${JSON.stringify(err)} ${(err as Error).message}`;
            for (const secret of [owner.access, owner.refresh, viewer.access, viewer.refresh, 'correct horse battery']) {
                assert.ok(!text.includes(secret), `a secret leaked in ${(err as Error).name}: ${(err as Error).message}`);
            }
        }
    });
});
