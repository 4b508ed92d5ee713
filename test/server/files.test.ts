import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import Boom from '@hapi/boom';
import { pathProblem } from '@collab/protocol';

import { deleteFile, writeFile } from '../../packages/server/src/files/write.js';
import { nextPath } from '../helpers/link.js';
import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

const MiB = 1024 * 1024;

/** An `assert.rejects` check for a Boom error of one status. */
const boom = (status: number) => (err: unknown) => Boom.isBoom(err) && err.output.statusCode === status;

interface FileBody {
    path: string;
    content: string;
    revision: number;
    updated_at: string;
    updated_by: number | null;
}

describe('workspace files', () => {
    let t: TestServer;
    let owner: TestUser;
    let viewer: TestUser;
    let workspace: number;
    let files: string;
    before(async () => {
        t = await startTestServer();
        [owner, viewer] = await Promise.all([t.user('owner'), t.user('viewer')]);
        const project = await t.call('POST', '/api/projects/projects/', { token: owner.access, payload: { name: 'P' } });
        const projectId = (project.result as { id: number }).id;
        await t.database.db('memberships').insert({ project_id: projectId, user_id: viewer.id, role: 'viewer' });
        const ws = await t.call('POST', `/api/projects/projects/${projectId}/workspaces/`, { token: owner.access, payload: { name: 'W' } });
        workspace = (ws.result as { id: number }).id;
        files = `/api/projects/workspaces/${workspace}/files`;
    });
    after(() => t.stop());

    const put = (path: string, payload: object, token = owner.access) => t.call('PUT', `${files}/${path}`, { token, payload });

    /** Another workspace in the same project, for tests that need an empty one. */
    const emptyWorkspace = async () => {
        const { project_id: projectId } = await t.database.db('workspaces').first('project_id').where({ id: workspace });
        const res = await t.call('POST', `/api/projects/projects/${projectId}/workspaces/`, { token: owner.access, payload: { name: 'empty' } });
        return (res.result as { id: number }).id;
    };

    /** Every page of a list, by following its Link headers. */
    const walk = async (first: string) => {
        const pages: string[][] = [];
        let url: string | undefined = first;
        while (url) {
            const res = await t.call('GET', url, { token: owner.access });
            assert.equal(res.statusCode, 200, res.payload);
            pages.push((res.result as FileBody[]).map((f) => f.path));
            url = nextPath(res.headers.link);
        }

        return pages;
    };

    it('creates a file at revision 1 and adds one per update', async () => {
        const created = await put('src/main.js', { content: 'one' });
        assert.equal(created.statusCode, 200);
        assert.deepEqual(created.result, { path: 'src/main.js', revision: 1 });
        assert.deepEqual((await put('src/main.js', { content: 'two' })).result, { path: 'src/main.js', revision: 2 });

        const res = await t.call('GET', `${files}/src/main.js`, { token: viewer.access });
        assert.equal(res.statusCode, 200);
        const file = res.result as FileBody;
        assert.deepEqual(Object.keys(file).sort(), ['content', 'path', 'revision', 'updated_at', 'updated_by']);
        assert.equal(file.content, 'two');
        assert.equal(file.revision, 2);
        assert.equal(file.updated_by, owner.id);
        assert.equal(file.updated_at, new Date(file.updated_at).toISOString());
    });

    it('lists files by path without content, with sizes in bytes', async () => {
        await put('list/b.txt', { content: 'héllo' });
        await put('list/a.txt', { content: '' });
        const res = await t.call('GET', `${files}/`, { token: viewer.access });
        assert.equal(res.statusCode, 200);
        const listed = (res.result as Array<Record<string, unknown>>).filter((f) => String(f.path).startsWith('list/'));
        assert.deepEqual(listed.map((f) => [f.path, f.size, f.revision, f.updated_by]), [['list/a.txt', 0, 1, owner.id], ['list/b.txt', 6, 1, owner.id]]);
        assert.deepEqual(Object.keys(listed[0]!).sort(), ['path', 'revision', 'size', 'updated_at', 'updated_by']);
    });

    it('writes only when base_revision is current (409 otherwise)', async () => {
        await put('base.txt', { content: 'v1' });
        assert.deepEqual((await put('base.txt', { content: 'v2', base_revision: 1 })).result, { path: 'base.txt', revision: 2 });
        const stale = await put('base.txt', { content: 'lost', base_revision: 1 });
        assert.equal(stale.statusCode, 409);
        assert.equal((stale.result as { message: string }).message, 'base_revision 1 is not current (the file is at revision 2)');
        assert.equal((stale.result as { revision: number }).revision, 2);
        assert.equal(((await t.call('GET', `${files}/base.txt`, { token: owner.access })).result as FileBody).content, 'v2');

        const missing = await put('never.txt', { content: 'x', base_revision: 3 });
        assert.equal(missing.statusCode, 409);
        assert.match((missing.result as { message: string }).message, /does not exist/);
    });

    it('creates only when base_revision is 0 and the file does not exist', async () => {
        assert.deepEqual((await put('fresh.txt', { content: 'x', base_revision: 0 })).result, { path: 'fresh.txt', revision: 1 });
        assert.equal((await put('fresh.txt', { content: 'y', base_revision: 0 })).statusCode, 409);
    });

    it('lets exactly one of two writers with the same base_revision win', async () => {
        for (let round = 0; round < 5; round++) {
            const path = `race/${round}.txt`;
            await put(path, { content: 'base' });
            const [a, b] = await Promise.all([put(path, { content: 'A', base_revision: 1 }), put(path, { content: 'B', base_revision: 1 })]);
            assert.deepEqual([a.statusCode, b.statusCode].sort(), [200, 409]);
            const winner = a.statusCode === 200 ? 'A' : 'B';
            const file = (await t.call('GET', `${files}/${path}`, { token: owner.access })).result as FileBody;
            assert.equal(file.revision, 2);
            assert.equal(file.content, winner);
        }
    });

    it('gives concurrent unconditional writes distinct revisions', async () => {
        const results = await Promise.all([1, 2, 3].map((n) => put('upsert.txt', { content: String(n) })));
        assert.deepEqual(results.map((r) => r.statusCode), [200, 200, 200]);
        assert.deepEqual(results.map((r) => (r.result as { revision: number }).revision).sort(), [1, 2, 3]);
    });

    it('refuses invalid paths with 400 naming path', async () => {
        const urls = ['a//b', 'a%2F..%2Fb', '..%2Fx', '.%2Fx', 'a%2F.', '%2Fetc%2Fpasswd', 'a%5Cb', 'a%00b', 'a%0Ab', 'x'.repeat(256), 'é'.repeat(128)];
        for (const url of urls) {
            for (const method of ['PUT', 'GET', 'DELETE']) {
                const res = await t.call(method, `${files}/${url}`, { token: owner.access, payload: method === 'PUT' ? { content: 'x' } : undefined });
                assert.equal(res.statusCode, 400, `${method} ${url}`);
                assert.equal((res.result as { field: string }).field, 'path', url);
                assert.match((res.result as { message: string }).message, /^path /);
            }
        }

        assert.equal((await put('x'.repeat(255), { content: 'x' })).statusCode, 200, '255 bytes is allowed');
        assert.equal((await put('é'.repeat(127), { content: 'x' })).statusCode, 200, '254 bytes of UTF-8 is allowed');
    });

    it('checks every rule of a path', () => {
        const table: Array<[string, string | null]> = [
            ['a.txt', null],
            ['dir/sub/file.ts', null],
            ['.hidden/..dots/a..b', null],
            ['', 'must not be empty'],
            ['/abs', 'must be relative (no leading /)'],
            ['a/', 'must not contain empty segments'],
            ['a//b', 'must not contain empty segments'],
            ['.', 'must not contain . or .. segments'],
            ['a/../b', 'must not contain . or .. segments'],
            ['./a', 'must not contain . or .. segments'],
            ['a\\b', 'must use / as the separator (no backslash)'],
            ['a\0b', 'must not contain NUL or control characters'],
            ['a\tb', 'must not contain NUL or control characters'],
            ['a\uD800b', 'must be valid Unicode'],
            ['a\uDC00', 'must be valid Unicode'],
            ['\uDE00\uD83D', 'must be valid Unicode'],
            ['😀'.repeat(63), null],
            ['😀'.repeat(64), 'must be at most 255 bytes (UTF-8)'],
            ['x'.repeat(256), 'must be at most 255 bytes (UTF-8)'],
            ['€'.repeat(86), 'must be at most 255 bytes (UTF-8)'],
            ['€'.repeat(85), null]
        ];
        for (const [path, problem] of table) {
            assert.equal(pathProblem(path), problem, JSON.stringify(path));
        }
    });

    it('answers 413 for content over 1 MiB of UTF-8', async () => {
        assert.equal((await put('big/exact.txt', { content: 'x'.repeat(MiB) })).statusCode, 200);
        const over = await put('big/over.txt', { content: 'x'.repeat(MiB + 1) });
        assert.equal(over.statusCode, 413);
        assert.match((over.result as { message: string }).message, /1048577 bytes.*1 MiB/);
        assert.equal((await put('big/wide.txt', { content: 'é'.repeat(MiB / 2) })).statusCode, 200);
        assert.equal((await put('big/wide.txt', { content: `${'é'.repeat(MiB / 2)}x` })).statusCode, 413, 'bytes, not characters');
        const huge = await t.call('PUT', `${files}/big/huge.txt`, { token: owner.access, payload: JSON.stringify({ content: 'x'.repeat(9 * MiB) }), headers: { 'content-type': 'application/json' } });
        assert.equal(huge.statusCode, 413);
        const stored = await t.database.db('files').where({ workspace_id: workspace }).where('path', 'like', 'big/%').orderBy('path');
        assert.deepEqual(stored.map((f) => [f.path, f.size]), [['big/exact.txt', MiB], ['big/wide.txt', MiB]]);
    });

    it('names the field of a bad body', async () => {
        const cases: Array<[object, string]> = [[{}, 'content'], [{ content: 5 }, 'content'], [{ content: 'a\0b' }, 'content'], [{ content: 'x', base_revision: -1 }, 'base_revision'], [{ content: 'x', extra: 1 }, 'extra']];
        for (const [payload, field] of cases) {
            const res = await put('body.txt', payload);
            assert.equal(res.statusCode, 400, JSON.stringify(payload));
            assert.equal((res.result as { field: string }).field, field);
        }
    });

    it('deletes a file once', async () => {
        await put('gone.txt', { content: 'x' });
        assert.equal((await t.call('DELETE', `${files}/gone.txt/`, { token: owner.access })).statusCode, 204);
        assert.equal((await t.call('GET', `${files}/gone.txt`, { token: owner.access })).statusCode, 404);
        const again = await t.call('DELETE', `${files}/gone.txt`, { token: owner.access });
        assert.equal(again.statusCode, 404);
        assert.equal((again.result as { message: string }).message, 'File not found');
        assert.deepEqual((await put('gone.txt', { content: 'back' })).result, { path: 'gone.txt', revision: 1 }, 'a re-created file starts again at 1');
    });

    it('lets viewers read but not write', async () => {
        await put('ro.txt', { content: 'x' });
        const write = await put('ro.txt', { content: 'y' }, viewer.access);
        assert.equal(write.statusCode, 403);
        assert.equal((write.result as { message: string }).message, 'Your role (viewer) does not allow writing files');
        const remove = await t.call('DELETE', `${files}/ro.txt`, { token: viewer.access });
        assert.equal(remove.statusCode, 403);
        assert.equal((remove.result as { message: string }).message, 'Your role (viewer) does not allow deleting files');
    });

    it('answers with and without the trailing slash', async () => {
        assert.deepEqual((await put('slash.txt/', { content: 'x' })).result, { path: 'slash.txt', revision: 1 });
        for (const url of [files, `${files}/`, `${files}/slash.txt`, `${files}/slash.txt/`]) {
            assert.equal((await t.call('GET', url, { token: viewer.access })).statusCode, 200, url);
        }
    });

    it('pages through files by path', async () => {
        const id = await emptyWorkspace();
        const paths = ['b', 'a/z', 'a/b', 'é', 'c.txt'];
        for (const path of paths) {
            await t.call('PUT', `/api/projects/workspaces/${id}/files/${encodeURIComponent(path)}`, { token: owner.access, payload: { content: path } });
        }

        const pages = await walk(`/api/projects/workspaces/${id}/files/?limit=2`);
        assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
        const sorted = (await t.database.db('files').where({ workspace_id: id }).orderBy('path')).map((f) => f.path as string);
        assert.deepEqual(pages.flat(), sorted, 'each once, in the database\'s order of paths');
        assert.deepEqual(new Set(sorted), new Set(paths));
    });

    it('pages past the longest paths', async () => {
        const id = await emptyWorkspace();
        const paths = ['"'.repeat(255), 'é'.repeat(127), 'z'];
        for (const path of paths) {
            const res = await t.call('PUT', `/api/projects/workspaces/${id}/files/${encodeURIComponent(path)}`, { token: owner.access, payload: { content: 'x' } });
            assert.equal(res.statusCode, 200);
        }

        const seen = (await walk(`/api/projects/workspaces/${id}/files/?limit=1`)).flat();
        assert.deepEqual(new Set(seen), new Set(paths));
        assert.equal(seen.length, paths.length);
    });

    it('exposes writeFile and deleteFile for other transports, in or out of a transaction', async () => {
        const db = t.database.db;
        const first = await writeFile(db, { workspaceId: workspace, path: 'direct/a.txt', content: 'x', userId: viewer.id });
        assert.equal(first.path, 'direct/a.txt');
        assert.equal(first.revision, 1);
        assert.equal(first.updated_at, new Date(first.updated_at).toISOString());
        const second = await db.transaction((trx) => writeFile(trx, { workspaceId: workspace, path: 'direct/a.txt', content: 'y', baseRevision: 1, userId: owner.id }));
        assert.equal(second.revision, 2);
        await assert.rejects(writeFile(db, { workspaceId: workspace, path: 'direct/a.txt', content: 'z', baseRevision: 1, userId: owner.id }), boom(409));
        await assert.rejects(writeFile(db, { workspaceId: workspace, path: '../x', content: 'z', userId: owner.id }), boom(400));
        await assert.rejects(writeFile(db, { workspaceId: workspace, path: 'big', content: 'x'.repeat(MiB + 1), userId: owner.id }), boom(413));
        assert.equal(await deleteFile(db, { workspaceId: workspace, path: 'direct/a.txt' }), true);
        assert.equal(await deleteFile(db, { workspaceId: workspace, path: 'direct/a.txt' }), false);
    });
});
