import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { MAX_JSON_DEPTH } from '@collab/protocol';

import { Client, type NesClientType } from '../realtime/helpers.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

/** JSON text of `levels` nested objects around 1 (built as text: JSON.stringify recurses). */
const nestedText = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const nested = (levels: number): unknown => JSON.parse(nestedText(levels));
const nestedArrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

/** DESIGN §4: JSON nested deeper than 64 levels in any body is 400 naming the field, on every route, at any depth. */
describe('JSON depth of request bodies', () => {
    let t: TestServer;
    let owner: TestUser;
    let workspace: number;
    let events: string;

    before(async () => {
        t = await startTestServer({ listen: true });
        owner = await t.user('owner');
        const project = ((await t.call('POST', '/api/projects/projects/', { token: owner.access, payload: { name: 'p' } })).result as { id: number }).id;
        workspace = ((await t.call('POST', `/api/projects/projects/${project}/workspaces/`, { token: owner.access, payload: { name: 'w' } })).result as { id: number }).id;
        events = `/api/projects/workspaces/${workspace}/events/`;
    });

    after(async () => {
        await t.stop();
    });

    const refused = (res: { statusCode: number; result: unknown; payload: string }, field: string) => {
        assert.equal(res.statusCode, 400, res.payload);
        const body = res.result as { field: string; message: string };
        assert.equal(body.field, field);
        assert.match(body.message, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
    };

    it('accepts an event whose body nests exactly 64 levels and refuses 65, naming payload', async () => {
        // The body is one level: its payload may nest 63 more.
        const ok = await t.call('POST', events, { token: owner.access, payload: { event: 'deep', payload: nested(MAX_JSON_DEPTH - 1) } });
        assert.equal(ok.statusCode, 202, ok.payload);
        refused(await t.call('POST', events, { token: owner.access, payload: { event: 'deep', payload: nested(MAX_JSON_DEPTH) } }), 'payload');
    });

    it('names the deep field on other routes, before their own validation', async () => {
        refused(await t.call('POST', '/api/projects/projects/', { token: owner.access, payload: { name: 'x', description: nested(65) } }), 'description');
        refused(await t.call('POST', '/api/jobs/submit/', { token: owner.access, payload: { code: '1', language: 'python', extra: [nested(70)] } }), 'extra');
        refused(await t.call('PUT', `/api/projects/workspaces/${workspace}/files/a.txt`, { token: owner.access, payload: { content: 'x', base_revision: nested(100) } }), 'base_revision');
        refused(await t.call('POST', '/api/auth/register/', { payload: { email: 'deep@example.com', password: 'long enough', name: nested(65) } }), 'name');
        refused(await t.call('POST', '/api/projects/projects/', { token: owner.access, payload: nestedText(65) }), 'a');
        refused(await t.call('POST', '/api/projects/projects/', { token: owner.access, payload: nestedArrays(65), headers: { 'content-type': 'application/json' } }), 'body');
    });

    it('answers 400, not 500, to 100,000 levels on every kind of route, and keeps serving', async () => {
        const deep = nestedText(100_000);
        const bodies: Array<[string, string, string, string]> = [
            ['POST', events, `{"event":"chat","payload":${deep}}`, 'payload'],
            ['POST', events, `{"event":"file_change","payload":{"file":"a.txt","content":"x","more":${deep}}}`, 'payload'],
            ['POST', '/api/projects/projects/', `{"name":"x","description":${deep}}`, 'description'],
            ['POST', '/api/projects/projects/', nestedArrays(100_000), 'body'],
            ['POST', '/api/jobs/submit/', `{"code":${deep}}`, 'code'],
            ['POST', '/api/auth/login/', `{"email":${deep}}`, 'email']
        ];
        for (const [method, url, payload, field] of bodies) {
            const res = await t.call(method, url, { token: owner.access, payload, headers: { 'content-type': 'application/json' } });
            refused(res, field);
        }

        assert.equal(Number((await t.database.db('files').where({ workspace_id: workspace }).count({ n: '*' }).first())!.n), 0, 'no file was written');
        assert.equal((await t.call('GET', '/api/auth/me/', { token: owner.access })).statusCode, 200);
    });

    // The nes message wraps the body one level deeper, so the socket's frame check may answer before the route.
    it('refuses a deep event payload sent as a nes request', async () => {
        const client: NesClientType = new Client(`ws://127.0.0.1:${t.server.info.port}`);
        await client.connect({ auth: { headers: { authorization: `Bearer ${owner.access}` } } });
        try {
            await assert.rejects(client.request({ method: 'POST', path: events, payload: { event: 'deep', payload: nested(MAX_JSON_DEPTH) } }), (err: Error & { statusCode?: number }) => {
                assert.equal(err.statusCode, 400);
                return true;
            });
            const sent = await client.request({ method: 'POST', path: events, payload: { event: 'shallow', payload: nested(MAX_JSON_DEPTH - 2) } });
            assert.equal(sent.statusCode, 202, 'the socket still serves requests');
        }
        finally {
            await client.disconnect();
        }
    });
});
