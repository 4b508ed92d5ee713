import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';
import { MAX_JSON_DEPTH } from '@collab/protocol';

import { sendEvent } from '../../packages/server/src/events/send.js';
import { makeTeam, nesClient, plainClient, startServer, until, type RealtimeServer, type Team } from './helpers.js';

/** `levels` nested arrays, as JSON text (built without recursion). */
const deepText = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

describe('deeply nested JSON on sockets', () => {
    let t: RealtimeServer;
    let team: Team;
    const cleanup: Array<() => unknown> = [];

    before(async () => {
        t = await startServer();
        team = await makeTeam(t);
    });
    after(async () => {
        await Promise.all(cleanup.map((close) => close()));
        await t.stop();
    });

    it('refuses a plain frame nested deeper than 64 levels with an error frame 400 and keeps the socket open', async () => {
        const client = plainClient(t.port, team.workspaceId, team.owner.access);
        cleanup.push(() => client.ws.terminate());
        await client.opened;
        for (const levels of [MAX_JSON_DEPTH, 1_000, 200_000]) {
            const from = client.frames.length;
            client.send(`{"event":"file_change","payload":{"file":"a.txt","content":"x","deep":${deepText(levels)}}}`);
            const error = await client.next((f) => f.event === 'error', 5000, from);
            assert.equal(error.payload.code, 400);
            assert.match(String(error.payload.message), /deeper than 64/);
        }

        const from = client.frames.length;
        client.send({ event: 'chat', payload: JSON.parse(deepText(MAX_JSON_DEPTH - 2)) as unknown });
        await client.next((f) => f.event === 'chat', 5000, from);
        assert.equal(client.ws.readyState, WebSocket.OPEN);
        assert.equal(client.events().filter((f) => f.event === 'file_change').length, 0);
    });

    it('answers a nes request nested deeper than 64 levels with a 400 error reply, keeping the socket', async () => {
        const client = await nesClient(t.port, team.owner.access);
        cleanup.push(() => client.disconnect());
        const path = `/api/projects/workspaces/${team.workspaceId}/events/`;
        for (const levels of [MAX_JSON_DEPTH + 1, 2_000]) {
            const payload = { event: 'file_change', payload: { file: 'a.txt', content: 'x', deep: JSON.parse(deepText(levels)) as unknown } };
            await assert.rejects(client.request({ method: 'POST', path, payload }), (err: { statusCode?: number }) => err.statusCode === 400);
        }

        const ok = await client.request({ method: 'POST', path, payload: { event: 'chat', payload: 1 } });
        assert.equal(ok.statusCode, 202);
    });

    it('answers a raw nes message nested deeper than 64 levels with a 400 error reply before the socket authenticates', async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${t.port}/`);
        cleanup.push(() => ws.terminate());
        const replies: Array<Record<string, unknown>> = [];
        ws.on('message', (data) => replies.push(JSON.parse(data.toString()) as Record<string, unknown>));
        await new Promise((resolve) => ws.once('open', resolve));
        ws.send(`{"type":"sub","id":7,"path":"/workspaces/1","x":${deepText(200_000)}}`);
        await until(() => replies.length > 0, 5000, 'a reply');
        assert.equal(replies[0]!.id, 7);
        assert.equal(replies[0]!.statusCode, 400);
        assert.equal(ws.readyState, WebSocket.OPEN);
    });

    it('makes sendEvent refuse a file_change payload nested too deep with 400, not 500, writing nothing', async () => {
        const user = { id: team.owner.id, email: team.owner.email };
        const payload = { file: 'deep.txt', content: 'x', deep: JSON.parse(deepText(200_000)) as unknown };
        await assert.rejects(sendEvent(t.server, { workspaceId: team.workspaceId, user, event: 'file_change', payload, source: 'ws' }),
            (err: { output?: { statusCode: number } }) => err.output?.statusCode === 400);
        const files = await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/files/`, team.owner.access);
        assert.doesNotMatch(JSON.stringify(files.result), /deep\.txt/);
    });
});
