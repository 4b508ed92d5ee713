import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CollabClient, type EventEnvelope } from '@collab/sdk';
import { JOB_EVENTS, PRESENCE_EVENTS, SERVER_EVENTS } from '@collab/protocol';

import { makeTeam, plainClient, startServer, until, type PlainClient, type RealtimeServer, type Team } from './helpers.js';

describe('events and presence routes', () => {
    let t: RealtimeServer;
    let team: Team;
    let events: string;
    const plains: PlainClient[] = [];
    const send = (payload: unknown, token = team.owner.access) => t.http('POST', events, token, payload);

    before(async () => {
        t = await startServer();
        team = await makeTeam(t);
        events = `/api/projects/workspaces/${team.workspaceId}/events/`;
    });
    after(async () => {
        plains.forEach((client) => client.ws.terminate());
        await t.stop();
    });

    it('accepts events from owners and collaborators with 202 {seq}, seq increasing by one', async () => {
        const first = await send({ event: 'chat', payload: { text: 'a' } });
        const second = await send({ event: 'chat', payload: null }, team.collaborator.access);
        assert.equal(first.statusCode, 202);
        assert.equal(second.statusCode, 202);
        assert.deepEqual(Object.keys(first.result as object), ['seq']);
        assert.equal((second.result as { seq: number }).seq, (first.result as { seq: number }).seq + 1);
        assert.equal((await t.http('POST', events.slice(0, -1), team.owner.access, { event: 'chat', payload: 1 })).statusCode, 202);
    });

    it('answers 403 to a viewer, 404 to a non-member or unknown workspace, 401 without a token', async () => {
        assert.equal((await send({ event: 'chat', payload: 1 }, team.viewer.access)).statusCode, 403);
        assert.equal((await send({ event: 'chat', payload: 1 }, team.outsider.access)).statusCode, 404);
        assert.equal((await t.http('POST', '/api/projects/workspaces/999999/events/', team.owner.access, { event: 'chat', payload: 1 })).statusCode, 404);
        assert.equal((await t.http('POST', events, undefined, { event: 'chat', payload: 1 })).statusCode, 401);
    });

    it('answers 400 naming the field for a bad or reserved name or a missing payload, 413 over 64 KiB', async () => {
        for (const body of [{ event: 'Bad Name', payload: 1 }, { event: 'presence.leave', payload: 1 }, { event: 'error', payload: 1 }]) {
            const res = await send(body);
            assert.equal(res.statusCode, 400, body.event);
            assert.equal((res.result as { field: string }).field, 'event');
        }

        const missing = await send({ event: 'chat' });
        assert.equal(missing.statusCode, 400);
        assert.equal((missing.result as { field: string }).field, 'payload');
        assert.equal((await send({ event: 'chat', payload: 'x'.repeat(64 * 1024 - 2) })).statusCode, 202);
        assert.equal((await send({ event: 'chat', payload: 'x'.repeat(64 * 1024 - 1) })).statusCode, 413);
        const tooBigFile = await send({ event: 'file_change', payload: { file: 'big.txt', content: 'x'.repeat(70_000) } });
        assert.equal(tooBigFile.statusCode, 413);
        assert.equal((await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/files/big.txt`, team.owner.access)).statusCode, 404);
    });

    it('refuses every name the server sends itself, revoked included, on every transport', async () => {
        for (const event of [...SERVER_EVENTS, ...PRESENCE_EVENTS, ...Object.values(JOB_EVENTS)]) {
            const res = await send({ event, payload: {} }, team.collaborator.access);
            assert.deepEqual([res.statusCode, (res.result as { field: string }).field], [400, 'event'], event);
        }

        const client = plainClient(t.port, team.workspaceId, team.collaborator.access);
        plains.push(client);
        await client.opened;
        client.ws.send(JSON.stringify({ event: 'revoked', payload: {} }));
        const refused = await client.next((f) => f.event === 'error');
        assert.equal(refused.payload.code, 400);
    });

    it('delivers to SDK subscribers any event that has a seq, whatever its name', async () => {
        const sdk = new CollabClient({ baseUrl: t.server.info.uri, token: team.viewer.access });
        const received: EventEnvelope[] = [];
        const stop = await sdk.realtime.subscribe(team.workspaceId, (event) => received.push(event));
        try {
            // As a server that let clients use the name would have published it.
            await t.server.app.bus.publish(team.workspaceId, { event: 'revoked', payload: { from: 'client' }, user: team.collaborator.email, user_id: team.collaborator.id });
            await t.server.app.bus.publish(team.workspaceId, { event: 'chat', payload: { after: true }, user: team.collaborator.email, user_id: team.collaborator.id });
            await until(() => received.some((e) => e.event === 'chat'), 10_000, 'the event after it');
            assert.deepEqual(received.filter((e) => e.seq !== undefined).map((e) => e.event), ['revoked', 'chat']);
        }
        finally {
            stop();
            await sdk.realtime.close();
        }
    });

    it('writes the file of a file_change {file, content} and broadcasts its revision', async () => {
        const res = await send({ event: 'file_change', payload: { file: 'dir/a.txt', content: 'one' } });
        const seq = (res.result as { seq: number }).seq;
        const history = await t.http('GET', `${events}?after=${seq - 1}`, team.viewer.access);
        assert.deepEqual((history.result as Array<{ payload: unknown }>)[0]!.payload, { file: 'dir/a.txt', content: 'one', revision: 1 });
        const other = await send({ event: 'file_change', payload: { file: 'dir/a.txt', note: 'no content: not a write' } });
        assert.equal(other.statusCode, 202);
        const file = await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/files/dir/a.txt`, team.viewer.access);
        assert.equal((file.result as { revision: number }).revision, 1);
    });

    it('broadcasts file_change after PUT and file_delete after DELETE', async () => {
        const client = plainClient(t.port, team.workspaceId, team.viewer.access);
        plains.push(client);
        await client.opened;
        const files = `/api/projects/workspaces/${team.workspaceId}/files`;
        assert.equal((await t.http('PUT', `${files}/put.txt`, team.collaborator.access, { content: 'by put' })).statusCode, 200);
        const change = await client.next((f) => f.event === 'file_change' && f.payload.file === 'put.txt');
        assert.deepEqual(change.payload, { file: 'put.txt', content: 'by put', revision: 1 });
        assert.equal(change.user, team.collaborator.email);

        assert.equal((await t.http('PUT', `${files}/large.txt`, team.owner.access, { content: 'y'.repeat(200_000) })).statusCode, 200);
        const large = await client.next((f) => f.event === 'file_change' && f.payload.file === 'large.txt');
        assert.deepEqual(large.payload, { file: 'large.txt', revision: 1, content_omitted: true });

        assert.equal((await t.http('DELETE', `${files}/put.txt`, team.owner.access)).statusCode, 204);
        const removed = await client.next((f) => f.event === 'file_delete');
        assert.deepEqual(removed.payload, { file: 'put.txt' });
    });

    it('pages the history oldest first with Link rel="next", keeping the epoch', async () => {
        const all = await t.http('GET', `${events}?limit=200`, team.viewer.access);
        const seqs = (all.result as Array<{ seq: number }>).map((e) => e.seq);
        assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
        const epoch = all.headers['x-collab-epoch'] as string;
        assert.equal(Number(all.headers['x-collab-seq']), seqs.length);

        const collected: number[] = [];
        let url: string | undefined = `${events}?after=1&limit=3`;
        while (url) {
            const page = await t.http('GET', url, team.viewer.access);
            assert.equal(page.statusCode, 200);
            collected.push(...(page.result as Array<{ seq: number }>).map((e) => e.seq));
            const link = page.headers.link as string | undefined;
            url = link ? new URL(/<([^>]+)>/.exec(link)![1]!).pathname + new URL(/<([^>]+)>/.exec(link)![1]!).search : undefined;
            if (url) {
                assert.match(url, new RegExp(`epoch=${epoch}`));
            }
        }

        assert.deepEqual(collected, seqs.slice(1));
        const none = await t.http('GET', `${events}?after=${seqs.length}&epoch=${epoch}`, team.viewer.access);
        assert.deepEqual(none.result, []);
    });

    it('answers 409 {epoch} for a stale epoch', async () => {
        const res = await t.http('GET', `${events}?after=3&epoch=stale`, team.viewer.access);
        assert.equal(res.statusCode, 409);
        const body = res.result as { epoch: string; statusCode: number };
        assert.equal(body.statusCode, 409);
        const current = await t.http('GET', events, team.viewer.access);
        assert.equal(body.epoch, current.headers['x-collab-epoch']);
    });

    it('lets members only read history and presence', async () => {
        const presence = `/api/projects/workspaces/${team.workspaceId}/presence/`;
        assert.equal((await t.http('GET', events, team.outsider.access)).statusCode, 404);
        assert.equal((await t.http('GET', presence, team.outsider.access)).statusCode, 404);
        const listed = await t.http('GET', presence, team.viewer.access);
        assert.equal(listed.statusCode, 200);
        assert.ok(Array.isArray(listed.result));
        assert.equal((await t.http('GET', `${events}?after=-1`, team.viewer.access)).statusCode, 400);
    });
});
