import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import { makeTeam, plainClient, startServer, type PlainClient, type RealtimeServer, type Team } from './helpers.js';

describe('plain WebSocket /ws/workspaces/{id}/', () => {
    let t: RealtimeServer;
    let team: Team;
    const clients: PlainClient[] = [];
    const open = (token: string | null, options: Parameters<typeof plainClient>[3] = {}, workspaceId: number | string = team.workspaceId) => {
        const client = plainClient(t.port, workspaceId, token, options);
        clients.push(client);
        return client;
    };

    before(async () => {
        t = await startServer();
        team = await makeTeam(t);
    });
    after(async () => {
        for (const client of clients) {
            client.ws.terminate();
        }

        await t.stop();
    });

    it('runs the browser-console flow: every client, the sender included, gets the file_change with its revision, and the file exists', async () => {
        const sender = open(team.owner.access);
        const other = open(team.viewer.access, { slash: false });
        await Promise.all([sender.opened, other.opened]);
        sender.send({ event: 'file_change', payload: { file: 'test.js', content: "console.log('hello world')" } });

        for (const client of [sender, other]) {
            const frame = await client.next((f) => f.event === 'file_change');
            assert.deepEqual(frame.payload, { file: 'test.js', content: "console.log('hello world')", revision: 1 });
            assert.equal(frame.user, team.owner.email);
            assert.equal(frame.user_id, team.owner.id);
            assert.equal(frame.workspace, team.workspaceId);
            assert.equal(frame.seq, 1);
            assert.equal(typeof frame.epoch, 'string');
            assert.equal(frame.ts, new Date(frame.ts).toISOString());
            assert.deepEqual(Object.keys(frame), ['event', 'payload', 'user', 'user_id', 'workspace', 'seq', 'epoch', 'ts']);
        }

        const file = await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/files/test.js`, team.viewer.access);
        assert.equal(file.statusCode, 200);
        assert.equal((file.result as { content: string; revision: number }).revision, 1);
        sender.send({ event: 'file_change', payload: { file: 'test.js', content: 'v2' } });
        assert.equal((await other.next((f) => f.event === 'file_change' && f.payload.revision === 2)).payload.content, 'v2');
    });

    it('reads a frame sent right after onopen', async () => {
        const client = open(team.collaborator.access);
        client.ws.once('open', () => client.send({ event: 'cursor.move', payload: { line: 3 } }));
        const frame = await client.next((f) => f.event === 'cursor.move');
        assert.deepEqual(frame.payload, { line: 3 });
        assert.equal(frame.user, team.collaborator.email);
    });

    it('publishes a socket\'s frames in the order sent, file writes included, without a round trip each', async () => {
        const client = open(team.owner.access);
        await client.opened;
        const from = client.frames.length;
        for (let n = 0; n < 40; n++) {
            client.send(n % 10 === 5
                ? { event: 'file_change', payload: { file: 'order.txt', content: String(n) } }
                : { event: 'order', payload: { n } });
        }

        await client.next((f) => f.event === 'order' && (f.payload as { n: number }).n === 39, 5000, from);
        const got = client.frames.slice(from).filter((f) => f.event === 'order' || f.event === 'file_change');
        const sent = got.map((f) => (f.event === 'order' ? (f.payload as { n: number }).n : Number(f.payload.content)));
        assert.deepEqual(sent, Array.from({ length: 40 }, (_, n) => n));
        assert.deepEqual(got.map((f) => f.seq), got.map((_, i) => got[0]!.seq! + i));
        assert.deepEqual(got.filter((f) => f.event === 'file_change').map((f) => f.payload.revision), [1, 2, 3, 4]);
    });

    it('answers bad frames with error frames, broadcasts nothing and stays open', async () => {
        const client = open(team.owner.access);
        const watcher = open(team.viewer.access);
        await Promise.all([client.opened, watcher.opened]);
        const before = watcher.events().length;
        const cases: Array<[unknown, number]> = [
            ['not json', 400],
            ['[1,2]', 400],
            [{ event: 'Bad Name', payload: {} }, 400],
            [{ event: 'presence.join', payload: {} }, 400],
            [{ event: 'chat' }, 400],
            [{ event: 'chat', payload: 'x'.repeat(64 * 1024) }, 413],
            [{ event: 'file_change', payload: { file: '../etc/passwd', content: 'x' } }, 400]
        ];
        for (const [frame, code] of cases) {
            const from = client.frames.length;
            client.send(frame);
            const error = await client.next((f) => f.event === 'error', 5000, from);
            assert.equal(error.payload.code, code, JSON.stringify(frame).slice(0, 80));
            assert.equal(typeof error.payload.message, 'string');
        }

        client.send({ event: 'chat', payload: 'still open' });
        await watcher.next((f) => f.event === 'chat' && f.payload as unknown === 'still open');
        assert.equal(watcher.events().length, before + 1);
        assert.equal(client.ws.readyState, WebSocket.OPEN);
    });

    it('refuses a viewer\'s writes with 403 and keeps the socket open', async () => {
        const viewer = open(team.viewer.access);
        await viewer.opened;
        viewer.send({ event: 'chat', payload: 'hi' });
        const error = await viewer.next((f) => f.event === 'error');
        assert.equal(error.payload.code, 403);
        assert.match(String(error.payload.message), /viewer/);
        assert.equal(viewer.ws.readyState, WebSocket.OPEN);
    });

    it('closes a frame over 1 MiB with 1009', async () => {
        const client = open(team.owner.access);
        await client.opened;
        client.send({ event: 'chat', payload: 'x'.repeat(1024 * 1024 + 10) });
        assert.equal((await client.closed).code, 1009);
    });

    it('closes a bad or missing token with 4401', async () => {
        for (const token of [null, 'nonsense', team.owner.refresh, `${team.owner.access.slice(0, -2)}xx`]) {
            const { code } = await open(token).closed;
            assert.equal(code, 4401, String(token).slice(0, 20));
        }
    });

    it('closes with 4403 for a non-member, an unknown workspace or a bad id, revealing nothing', async () => {
        const results = await Promise.all([
            open(team.outsider.access).closed,
            open(team.owner.access, {}, 999999).closed,
            open(team.owner.access, {}, 'abc').closed
        ]);
        assert.deepEqual(results.map((r) => r.code), [4403, 4403, 4403]);
        assert.equal(results[0]!.reason, results[1]!.reason);
    });

    it('serves the GET history and presence of the same stream', async () => {
        const history = await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/events/?after=0`, team.viewer.access);
        assert.equal(history.statusCode, 200);
        const events = history.result as Array<{ seq: number; event: string }>;
        assert.ok(events.length >= 2);
        assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1));
        const presence = await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/presence/`, team.viewer.access);
        assert.equal(presence.statusCode, 200);
        assert.ok((presence.result as Array<{ user_id: number }>).some((p) => p.user_id === team.owner.id));
    });
});
