import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CollabClient, type Project } from '@collab/sdk';

import { nextLink } from '../../packages/sdk/src/pagination.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('list()', () => {
    let t: TestServer;
    let client: CollabClient;
    const ids: number[] = [];

    before(async () => {
        t = await startTestServer({ listen: true });
        const user = await t.user();
        client = new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh });
        for (let batch = 0; batch < 6; ++batch) {
            const created = await Promise.all(Array.from({ length: 20 }, (_, i) => client.projects.create({ name: `p${batch * 20 + i}` })));
            ids.push(...created.map((p) => p.id));
        }

        ids.sort((a, b) => a - b);
    });
    after(() => t.stop());

    it('resolves to the first page, with a cursor for the next', async () => {
        const first = await client.projects.list();
        assert.equal(first.data.length, 50);
        assert.deepEqual(first.data.map((p) => p.id), ids.slice(0, 50));
        assert.equal(first.hasMore, true);
        assert.ok(first.nextCursor);

        const second = await client.projects.list({ cursor: first.nextCursor! });
        assert.deepEqual(second.data.map((p) => p.id), ids.slice(50, 100));
    });

    it('iterates every item across pages, following Link rel="next"', async () => {
        const seen: number[] = [];
        for await (const project of client.projects.list()) {
            seen.push(project.id);
        }

        assert.deepEqual(seen, ids);
    });

    it('keeps the page size and the other query parameters on every page', async () => {
        const pages: number[] = [];
        const counting = new CollabClient({
            baseUrl: t.server.info.uri,
            token: client.tokens.access,
            fetch: async (input, init) => {
                const response = await fetch(input, init);
                pages.push(((await response.clone().json()) as unknown[]).length);
                return response;
            }
        });
        const all: Project[] = await counting.projects.list({ limit: 7 }).toArray();
        assert.equal(all.length, 120);
        assert.deepEqual(pages, [...Array(17).fill(7), 1]);
    });

    it('stops early with toArray({limit}) and with break', async () => {
        assert.deepEqual((await client.projects.list({ limit: 30 }).toArray({ limit: 45 })).map((p) => p.id), ids.slice(0, 45));
        let count = 0;
        for await (const _project of client.projects.list({ limit: 10 })) {
            if (++count === 15) {
                break;
            }
        }

        assert.equal(count, 15);
    });

    it('rejects an invalid cursor naming the field', async () => {
        await assert.rejects(client.projects.list({ cursor: 'garbage!' }), { name: 'ValidationError', field: 'cursor' });
    });
});

describe('nextLink()', () => {
    it('finds rel="next" among several links', () => {
        assert.equal(nextLink('<http://a/x?cursor=1>; rel="prev", <http://a/x?cursor=2>; rel="next"'), 'http://a/x?cursor=2');
        assert.equal(nextLink('</api/x/?cursor=3>; rel=next'), '/api/x/?cursor=3');
        assert.equal(nextLink('<http://a/x>; rel="last"'), null);
        assert.equal(nextLink(null), null);
    });

    it('keeps a next link from another origin on the client\'s server', async () => {
        const urls: string[] = [];
        const client = new CollabClient({
            baseUrl: 'http://collab.test:8000',
            token: 'tok',
            fetch: async (input) => {
                urls.push(String(input));
                const link = urls.length === 1 ? { link: '<http://evil.test/api/projects/projects/?cursor=abc>; rel="next"' } : undefined;
                return new Response(JSON.stringify([{ id: urls.length }]), { status: 200, headers: { 'content-type': 'application/json', ...link } });
            }
        });
        assert.deepEqual((await client.projects.list().toArray()).map((p) => p.id), [1, 2]);
        assert.deepEqual(urls, ['http://collab.test:8000/api/projects/projects/', 'http://collab.test:8000/api/projects/projects/?cursor=abc']);
    });
});
