import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';
import WebSocket from 'ws';

import { anyJson, compact, deepJson, fieldsOf, invalidUtf8, nastyString, fuzzParameters, recordCrashes, type CrashRecorder } from '../helpers/fuzz.js';
import { makeTeam, startServer, until, type RealtimeServer, type Team } from '../realtime/helpers.js';

/** One frame a client sends: text (valid UTF-8), text with invalid UTF-8, or binary. */
interface Frame {
    data: string | Buffer;
    kind: 'text' | 'bad-utf8' | 'binary';
}

const TOKENS = ['collaborator', 'viewer', 'refresh', 'garbage'] as const;

const frameText: fc.Arbitrary<string> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ event: fc.oneof(fc.constantFrom('note', 'file_change', 'file_delete', 'presence.join', 'error', 'a'.repeat(65)), nastyString), payload: fc.oneof(anyJson, fc.record({ file: nastyString, content: nastyString })) }).map((f) => JSON.stringify(f)) },
    { weight: 2, arbitrary: fc.record({ event: fc.constant('auth'), payload: fc.oneof(anyJson, fc.record({ token: fc.oneof(fc.constantFrom(...TOKENS), nastyString) })) }).map((f) => JSON.stringify(f)) },
    { weight: 2, arbitrary: fieldsOf(['event', 'payload', 'token', 'file', 'content']).map((f) => JSON.stringify(f)) },
    { weight: 1, arbitrary: anyJson.map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('note', 'file_change'), fc.constantFrom('payload', 'content', 'beside'), deepJson).map(([event, where, deep]) => `{"event":"${event}","payload":${{ payload: deep, content: `{"file":"deep.txt","content":${deep}}`, beside: `{"file":"deep.txt","content":"x","meta":${deep}}` }[where]}}`) },
    { weight: 1, arbitrary: deepJson },
    { weight: 1, arbitrary: fc.oneof(nastyString, fc.constantFrom('', '{', '{"event":', '{"event":"note","payload":{}', '\u0000', '{"event":"note","payload":"\u0000"}', '{"event":"note","payload":1}{}')) },
    { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 80_000 }).map((n) => JSON.stringify({ event: 'note', payload: 'x'.repeat(n) })) }
);

const frame: fc.Arbitrary<Frame> = fc.oneof(
    { weight: 8, arbitrary: frameText.map((data): Frame => ({ data, kind: 'text' })) },
    { weight: 2, arbitrary: fc.oneof(frameText.map((text) => Buffer.from(text)), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b))).map((data): Frame => ({ data, kind: 'binary' })) },
    { weight: 1, arbitrary: invalidUtf8.map((bytes): Frame => ({ data: Buffer.concat([Buffer.from('{"event":"note","payload":"'), bytes, Buffer.from('"}')]), kind: 'bad-utf8' })) }
);

interface Reply {
    event: string;
    seq?: number;
    payload?: { code?: number };
}

describe('plain WebSocket endpoint under random frames', () => {
    let s: RealtimeServer;
    let team: Team;
    let crashes: CrashRecorder;

    before(async () => {
        crashes = recordCrashes();
        s = await startServer({ env: { WS_MESSAGE_RATE: '100000', WS_MESSAGE_BURST: '100000' } });
        team = await makeTeam(s);
    });

    after(async () => {
        crashes.stop();
        await s.stop();
    });

    const token = (name: string) => ({ collaborator: team.collaborator.access, viewer: team.viewer.access, refresh: team.collaborator.refresh, garbage: 'x.y.z' } as Record<string, string>)[name] ?? name;

    /** Opens a socket as `user`, sends the frames one by one and returns what it received and how it closed, if it did. */
    async function exchange(user: 'collaborator' | 'viewer', frames: Frame[]): Promise<{ replies: Reply[]; closed?: number }> {
        const ws = new WebSocket(`ws://127.0.0.1:${s.port}/ws/workspaces/${team.workspaceId}/?token=${token(user)}`);
        const replies: Reply[] = [];
        let closed: number | undefined;
        ws.on('error', () => undefined);
        ws.on('close', (code) => (closed = code));
        ws.on('message', (data) => {
            const reply = JSON.parse(data.toString()) as Reply;
            // Presence comes from the server without a seq; it answers no frame.
            if (reply.seq !== undefined || reply.event === 'error' || reply.event === 'authenticated') {
                replies.push(reply);
            }
        });
        await new Promise((resolve, reject) => ws.once('open', resolve).once('close', reject));
        for (const f of frames) {
            const data = typeof f.data === 'string' && f.data.includes('"token":"') ? f.data.replace(/"token":"(\w+)"/, (_, name: string) => `"token":"${token(name)}"`) : f.data;
            ws.send(data, { binary: f.kind === 'binary' });
        }

        await until(() => closed !== undefined || replies.length >= frames.length, 10_000, `replies to ${frames.length} frames`).catch(() => undefined);
        if (closed === undefined) {
            ws.close();
        }

        return { replies, closed };
    }

    it('answers every frame with an error frame or a broadcast and keeps the socket open', async () => {
        const realtime = s.server.plugins['collab-realtime'];
        await fc.assert(fc.asyncProperty(fc.constantFrom('collaborator' as const, 'viewer' as const), fc.array(frame, { minLength: 1, maxLength: 4 }), async (user, frames) => {
            const mark = crashes.errors.length;
            const { replies, closed } = await exchange(user, frames);
            await until(() => realtime.sockets().ws === 0, 5_000).catch(() => undefined);
            const what = compact(`${user} sent ${JSON.stringify(frames.map((f) => (typeof f.data === 'string' ? f.data : `<${f.kind} ${f.data.toString('hex')}>`)))}; got ${JSON.stringify(replies).slice(0, 500)}; closed ${closed}`);
            const badUtf8 = frames.findIndex((f) => f.kind === 'bad-utf8');
            if (badUtf8 >= 0) {
                // RFC 6455 §8.1: a text frame that is not UTF-8 fails the connection (1007).
                assert.equal(closed, 1007, what);
            }
            else {
                assert.equal(closed, undefined, `the socket was closed: ${what}`);
                assert.equal(replies.length, frames.length, what);
            }

            for (const reply of replies.filter((r) => r.event === 'error' && r.seq === undefined)) {
                assert.ok(typeof reply.payload?.code === 'number' && reply.payload.code >= 400 && reply.payload.code < 500, `error frame outside 4xx: ${what}`);
            }

            assert.deepEqual(crashes.errors.slice(mark), [], what);
        }), fuzzParameters(150));
    });

    it('closes a socket with 1009 for a frame over 1 MiB, and only that socket', async () => {
        await fc.assert(fc.asyncProperty(fc.integer({ min: 1024 * 1024 + 1, max: 1024 * 1024 + 4096 }), fc.boolean(), async (size, binary) => {
            const { closed } = await exchange('collaborator', [{ data: Buffer.alloc(size, 0x20), kind: binary ? 'binary' : 'text' }]);
            assert.equal(closed, 1009);
        }), fuzzParameters(5));

        const { replies, closed } = await exchange('collaborator', [{ data: '{"event":"note","payload":{}}', kind: 'text' }]);
        assert.equal(closed, undefined);
        assert.equal(replies[0]?.seq !== undefined, true);
    });

    it('leaves the process alive with no socket or workspace topic behind', async () => {
        assert.equal((await s.http('GET', '/healthz')).statusCode, 200);
        const realtime = s.server.plugins['collab-realtime'];
        await until(() => realtime.sockets().ws === 0 && realtime.hub.connections().length === 0, 10_000, 'every socket to be gone');
        assert.equal((realtime.hub as unknown as { topics: Map<number, unknown> }).topics.size, 0);
        assert.deepEqual(crashes.errors, []);
    });
});
