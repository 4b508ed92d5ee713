import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { advertiseWorker } from '@collab/core';
import fc from 'fast-check';
import WebSocket from 'ws';

import { anyJson, compact, deepJson, fieldsOf, fuzzParameters, nastyString, recordCrashes, type CrashRecorder } from '../helpers/fuzz.js';
import { makeTeam, startServer, until, type RealtimeServer, type Team } from '../realtime/helpers.js';

/** Placeholders the property fills in with the fixture's values when it sends. */
const TOKENS = ['$viewer', '$collaborator', '$refresh', '$outsider'] as const;

const id = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 1_000_000 }) }, { weight: 1, arbitrary: anyJson });
const auth = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...TOKENS).map((token) => ({ headers: { authorization: `Bearer ${token}` } })) },
    { weight: 1, arbitrary: fc.record({ headers: fc.oneof(fc.record({ authorization: nastyString }), anyJson) }) },
    { weight: 1, arbitrary: anyJson }
);
const path = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('/workspaces/$workspace', '/workspaces/$workspace/since/0', '/workspaces/$workspace/since/1/nope', '/jobs/$job', '/workspaces/999999', '/jobs/job_x', '/workspaces/$workspace/since/99999999999999999999') },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('/workspaces/', '/jobs/', '/'), nastyString).map(([prefix, rest]) => prefix + rest) },
    { weight: 1, arbitrary: anyJson }
);
const routePath = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('/api/projects/workspaces/$workspace/events/', '/api/projects/workspaces/$workspace/files/a.txt', '/api/projects/projects/$project/', '/api/jobs/$job/', '/api/auth/me/', '/healthz', '/nes/auth') },
    { weight: 1, arbitrary: nastyString }
);

/** nes messages of every type, valid-looking and not (PROTOCOL.md; @hapi/nes 14). */
const message: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ type: fc.constant('hello'), id, version: fc.oneof(fc.constant('2'), anyJson), auth, subs: fc.option(fc.oneof(fc.array(path, { maxLength: 3 }), anyJson), { nil: undefined }) }, { requiredKeys: ['type', 'id'] }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('reauth'), id, auth }, { requiredKeys: ['type'] }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('request'), id, method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'get', '*'), anyJson), path: fc.oneof(routePath, anyJson), payload: fc.oneof(anyJson, fc.record({ event: fc.oneof(fc.constant('note'), nastyString), payload: anyJson }), fc.record({ content: nastyString })), headers: fc.option(anyJson, { nil: undefined }) }, { requiredKeys: ['type', 'id', 'method', 'path'] }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constantFrom('sub', 'unsub'), id, path }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('message'), id, message: anyJson }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('ping'), id }) },
    { weight: 2, arbitrary: fieldsOf(['type', 'id', 'version', 'auth', 'subs', 'path', 'method', 'payload', 'headers', 'message']) },
    { weight: 1, arbitrary: anyJson }
);

/** A frame on the nes socket: a message as JSON text or binary, or something that is not a message at all. */
const frame: fc.Arbitrary<{ text: string; binary: boolean }> = fc.tuple(
    fc.oneof(
        { weight: 8, arbitrary: message.map((m) => JSON.stringify(m) ?? 'null') },
        { weight: 1, arbitrary: deepJson.map((deep) => `{"type":"request","id":7,"method":"POST","path":"/api/projects/workspaces/$workspace/events/","payload":{"event":"note","payload":${deep}}}`) },
        { weight: 1, arbitrary: fc.oneof(deepJson, nastyString, fc.constantFrom('', '{', '{"type":"hello"', '\u0000', '{"type":"sub","id":1,"path":"/workspaces/$workspace"}{}')) }
    ),
    fc.boolean()
).map(([text, binary]) => ({ text, binary }));

const validHello = JSON.stringify({ type: 'hello', id: 'h', version: '2', auth: { headers: { authorization: 'Bearer $collaborator' } } });

interface Reply {
    type?: string;
    id?: unknown;
    statusCode?: number;
    payload?: unknown;
}

describe('nes endpoint under random messages', () => {
    let s: RealtimeServer;
    let team: Team;
    let job: string;
    let crashes: CrashRecorder;
    const serverErrors: string[] = [];

    before(async () => {
        crashes = recordCrashes();
        s = await startServer({ env: { WS_MESSAGE_RATE: '100000', WS_MESSAGE_BURST: '100000' } });
        team = await makeTeam(s);
        await advertiseWorker(s.server.app.redis, s.config.redisPrefix, { id: 'fuzz-worker', languages: ['bash'], versions: { bash: '5.2' }, concurrency: 1, running: 0, last_seen: new Date().toISOString() }, 600_000);
        const submitted = await s.http('POST', '/api/jobs/submit/', team.collaborator.access, { code: 'echo 1', language: 'bash', workspace_id: team.workspaceId });
        assert.equal(submitted.statusCode, 202);
        job = (submitted.result as { job_id: string }).job_id;
        s.server.events.on('response', (request) => {
            const status = (request.response as { statusCode?: number } | null)?.statusCode ?? 0;
            if (status >= 500) {
                serverErrors.push(`${request.method} ${request.path} → ${status}`);
            }
        });
    });

    after(async () => {
        crashes.stop();
        await s.stop();
    });

    const fill = (text: string) => text
        .replaceAll('$collaborator', team.collaborator.access)
        .replaceAll('$viewer', team.viewer.access)
        .replaceAll('$outsider', team.outsider.access)
        .replaceAll('$refresh', team.collaborator.refresh)
        .replaceAll('$workspace', String(team.workspaceId))
        .replaceAll('$project', String(team.projectId))
        .replaceAll('$job', job);

    /** Sends the frames on a fresh nes socket, then a request that nes answers in order; returns every reply and the close code, if any. */
    async function exchange(frames: Array<{ text: string; binary: boolean }>): Promise<{ replies: Reply[]; closed?: number }> {
        const ws = new WebSocket(`ws://127.0.0.1:${s.port}/`);
        const replies: Reply[] = [];
        let closed: number | undefined;
        ws.on('error', () => undefined);
        ws.on('close', (code) => (closed = code));
        ws.on('message', (data) => {
            const reply = JSON.parse(data.toString()) as Reply;
            if (reply.type === 'ping') {
                ws.send(JSON.stringify({ type: 'ping', id: reply.id }));
            }
            else {
                replies.push(reply);
            }
        });
        await new Promise((resolve, reject) => ws.once('open', resolve).once('close', reject));
        for (const f of frames) {
            ws.send(f.binary ? Buffer.from(fill(f.text)) : fill(f.text), { binary: f.binary });
            if (f.text === validHello) {
                // nes handles messages concurrently: a client sends nothing more until its hello is answered.
                await until(() => closed !== undefined || replies.some((r) => r.id === 'h'), 10_000, 'the hello reply');
            }
        }

        ws.send(JSON.stringify({ type: 'request', id: 'end', method: 'GET', path: '/healthz' }));
        await until(() => closed !== undefined || replies.some((r) => r.id === 'end'), 10_000, 'the end marker').catch(() => undefined);
        if (closed === undefined) {
            ws.close();
        }

        return { replies, closed };
    }

    it('never crashes and never answers 5xx, whatever nes messages arrive', async () => {
        const frames = fc.tuple(fc.boolean(), fc.array(frame, { minLength: 1, maxLength: 5 })).map(([hello, rest]) => hello ? [{ text: validHello, binary: false }, ...rest] : rest);
        const realtime = s.server.plugins['collab-realtime'];
        await fc.assert(fc.asyncProperty(frames, async (sent) => {
            const marks = { crashes: crashes.errors.length, serverErrors: serverErrors.length };
            const { replies, closed } = await exchange(sent);
            // Once the server has let go of the socket, what it set off is attributed to this run.
            await until(() => realtime.sockets().nes === 0, 5_000).catch(() => undefined);
            await new Promise((resolve) => setImmediate(resolve));
            const what = compact(`sent ${JSON.stringify(sent.map((f) => f.text))}; got ${JSON.stringify(replies).slice(0, 800)}; closed ${closed}`);
            // A `message` frame is answered 501 by nes itself: the server registers no message handler.
            const failed = replies.filter((r) => (r.statusCode ?? 0) >= 500 && r.type !== 'message');
            assert.deepEqual(failed, [], what);
            assert.deepEqual(serverErrors.slice(marks.serverErrors), [], what);
            assert.ok(closed === undefined || replies.some((r) => r.id === 'end') || closed !== 1006, `closed abnormally: ${what}`);
            assert.deepEqual(crashes.errors.slice(marks.crashes), [], what);
        }), fuzzParameters(200));

        assert.equal((await s.http('GET', '/healthz')).statusCode, 200);
        await until(() => realtime.sockets().nes === 0 && realtime.hub.connections().length === 0, 10_000, 'every socket to be gone');
        assert.equal((realtime.hub as unknown as { topics: Map<number, unknown> }).topics.size, 0);
        assert.deepEqual(crashes.errors, []);
    });
});
