import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { decodeCursor, encodeCursor } from '../../packages/server/src/pagination.js';
import { nextLink } from '../helpers/link.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

const cursorOf = (json: string) => Buffer.from(json).toString('base64url');

describe('pagination', () => {
    let t: TestServer;
    let ada: TestUser;
    let bob: TestUser;
    let adas: number[];
    before(async () => {
        t = await startTestServer();
        [ada, bob] = await Promise.all([t.user('ada'), t.user('bob')]);
        // 120 projects of Ada's with 30 of Bob's in between, which she must not see.
        adas = await t.database.db.transaction(async (trx) => {
            const owners = Array.from({ length: 150 }, (_, i) => (i % 5 === 4 ? bob : ada).id);
            const rows: Array<{ id: number; owner_id: number }> = await trx('projects')
                .insert(owners.map((owner, i) => ({ name: `p${i}`, owner_id: owner }))).returning(['id', 'owner_id']);
            await trx('memberships').insert(rows.map((row) => ({ project_id: row.id, user_id: row.owner_id, role: 'owner' })));
            return rows.filter((row) => row.owner_id === ada.id).map((row) => row.id).sort((a, b) => a - b);
        });
    });
    after(() => t.stop());

    const list = (url: string, user = ada) => t.call('GET', url, { token: user.access, headers: { host: 'api.example.com:8443' } });

    it('walks 120 projects in pages of 50 by following Link, each once and in order', async () => {
        const pages: number[][] = [];
        let url: string | undefined = '/api/projects/projects/?limit=50';
        while (url) {
            const res = await list(url);
            assert.equal(res.statusCode, 200);
            pages.push((res.result as Array<{ id: number }>).map((p) => p.id));
            const next = nextLink(res.headers.link);
            url = next && next.pathname + next.search;
        }

        assert.deepEqual(pages.map((p) => p.length), [50, 50, 20]);
        assert.deepEqual(pages.flat(), adas);
    });

    it('links the next page with an absolute URL that keeps the Host, path and query', async () => {
        const res = await list('/api/projects/projects?limit=7');
        const next = nextLink(res.headers.link)!;
        assert.equal(next.origin, 'http://api.example.com:8443');
        assert.equal(next.pathname, '/api/projects/projects');
        assert.equal(next.searchParams.get('limit'), '7');
        assert.equal(decodeCursor(next.searchParams.get('cursor')!, 'id'), adas[6]);
        const again = nextLink((await list(`${next.pathname}?cursor=${next.searchParams.get('cursor')}&limit=7`)).headers.link)!;
        assert.equal(decodeCursor(again.searchParams.get('cursor')!, 'id'), adas[13]);
    });

    it('defaults to 50 items, allows 200, and sends no Link on the last page', async () => {
        const first = await list('/api/projects/projects/');
        assert.equal((first.result as unknown[]).length, 50);
        assert.ok(nextLink(first.headers.link));
        const all = await list('/api/projects/projects/?limit=200');
        assert.equal((all.result as unknown[]).length, 120);
        assert.equal(all.headers.link, undefined);
        const exact = await list(`/api/projects/projects/?limit=60&cursor=${encodeCursor(adas[59]!)}`);
        assert.equal((exact.result as unknown[]).length, 60);
        assert.equal(exact.headers.link, undefined, 'no Link when the page ends exactly at the last item');
    });

    it('refuses a limit out of range with 400 naming limit', async () => {
        for (const limit of ['0', '201', '-1', 'ten', '1.5']) {
            const res = await list(`/api/projects/projects/?limit=${limit}`);
            assert.equal(res.statusCode, 400, limit);
            assert.equal((res.result as { field: string }).field, 'limit');
        }
    });

    it('refuses a cursor it did not make with 400 naming cursor', async () => {
        const bad = ['not base64!', cursorOf('garbage'), cursorOf('{}'), cursorOf('[]'), cursorOf('[1,2]'), cursorOf('["text"]'),
            cursorOf('[-1]'), cursorOf('[1.5]'), cursorOf('[99999999999]'), cursorOf('[null]'), 'x'.repeat(201), ''];
        for (const cursor of bad) {
            const res = await list(`/api/projects/projects/?cursor=${encodeURIComponent(cursor)}`);
            assert.equal(res.statusCode, 400, cursor);
            assert.equal((res.result as { field: string }).field, 'cursor', cursor);
            assert.match((res.result as { message: string }).message, /cursor/);
        }
    });

    it('keeps its place when items of earlier pages are deleted (keyset, not offset)', async () => {
        const first = await list('/api/projects/projects/?limit=10');
        const ids = (first.result as Array<{ id: number }>).map((p) => p.id);
        await t.database.db('projects').whereIn('id', ids.slice(0, 5)).delete();
        const next = nextLink(first.headers.link)!;
        const second = await list(next.pathname + next.search);
        assert.deepEqual((second.result as Array<{ id: number }>).map((p) => p.id), adas.slice(10, 20));
    });

    it('encodes cursors opaquely and decodes only the kind of key a list uses', () => {
        assert.match(encodeCursor(42), /^[\w-]+$/);
        assert.equal(decodeCursor(encodeCursor(42), 'id'), 42);
        assert.equal(decodeCursor(encodeCursor('dir/é.txt'), 'text'), 'dir/é.txt');
        assert.equal(decodeCursor(undefined, 'id'), undefined);
        assert.throws(() => decodeCursor(encodeCursor('a'), 'id'), { message: /cursor/ });
        assert.throws(() => decodeCursor(encodeCursor(1), 'text'), { message: /cursor/ });
    });

    it('answers 400 for a cursor of another list\'s kind', async () => {
        const project = await t.call('POST', '/api/projects/projects/', { token: bob.access, payload: { name: 'files' } });
        const ws = await t.call('POST', `/api/projects/projects/${(project.result as { id: number }).id}/workspaces/`, { token: bob.access, payload: { name: 'W' } });
        const res = await list(`/api/projects/workspaces/${(ws.result as { id: number }).id}/files/?cursor=${encodeCursor(5)}`, bob);
        assert.equal(res.statusCode, 400);
        assert.equal((res.result as { field: string }).field, 'cursor');
    });
});
