import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { advertiseWorker } from '@collab/core';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import WebSocket from 'ws';

import { REDIS_URL } from '../helpers/config.js';
import { fuzzParameters, recordCrashes, type CrashRecorder } from '../helpers/fuzz.js';
import { makeTeam, startServer, until, type RealtimeServer, type Team } from '../realtime/helpers.js';

/** The steps of a full nes exchange, in order; a run sends a prefix of them. */
const NES_STEPS = ['hello', 'sub', 'resume', 'job', 'reauth', 'request', 'unsub'] as const;
/** The steps of a full plain exchange after the upgrade. */
const PLAIN_STEPS = ['event', 'reauth', 'file', 'event'] as const;

interface Drop {
    transport: 'nes' | 'plain';
    /** How many steps are sent before the drop. */
    steps: number;
    /** Whether each step waits for its reply before the next. */
    waits: boolean[];
    /** Plain only: resume from seq 0 in the URL. */
    resume: boolean;
    /** Terminate (no close frame) or close; after `delayMs` (0: at once, in the same tick as the last send). */
    how: 'terminate' | 'close';
    delayMs: number;
    /** Drop before the upgrade completes. */
    duringHandshake: boolean;
}

const drop: fc.Arbitrary<Drop> = fc.record({
    transport: fc.constantFrom('nes' as const, 'plain' as const),
    steps: fc.integer({ min: 0, max: NES_STEPS.length }),
    waits: fc.array(fc.boolean(), { minLength: NES_STEPS.length, maxLength: NES_STEPS.length }),
    resume: fc.boolean(),
    how: fc.constantFrom('terminate' as const, 'close' as const),
    delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 15 })),
    duringHandshake: fc.integer({ min: 0, max: 9 }).map((n) => n < 3)
});

describe('sockets that drop in the middle of any exchange', () => {
    let s: RealtimeServer;
    let team: Team;
    let job: string;
    let redis: Redis;
    let crashes: CrashRecorder;
    let channelsBefore: string[];

    const channels = async () => (await redis.pubsub('CHANNELS', `${s.config.redisPrefix}*`) as string[]).sort();

    before(async () => {
        crashes = recordCrashes();
        s = await startServer();
        redis = new Redis(REDIS_URL);
        team = await makeTeam(s);
        await advertiseWorker(redis, s.config.redisPrefix, { id: 'drops-worker', languages: ['bash'], versions: { bash: '5.2' }, concurrency: 1, running: 0, last_seen: new Date().toISOString() }, 600_000);
        const submitted = await s.http('POST', '/api/jobs/submit/', team.collaborator.access, { code: 'echo 1', language: 'bash', workspace_id: team.workspaceId });
        assert.equal(submitted.statusCode, 202);
        job = (submitted.result as { job_id: string }).job_id;
        for (let n = 0; n < 50; n++) {
            await s.http('POST', `/api/projects/workspaces/${team.workspaceId}/events/`, team.collaborator.access, { event: 'history', payload: { n } });
        }

        channelsBefore = await channels();
    });

    after(async () => {
        crashes.stop();
        redis.disconnect();
        await s.stop();
    });

    /** The frame of one step; `id` numbers nes requests. */
    function nesFrame(step: typeof NES_STEPS[number], id: number): string {
        const token = { headers: { authorization: `Bearer ${team.collaborator.access}` } };
        const w = team.workspaceId;
        return JSON.stringify({
            hello: { type: 'hello', id, version: '2', auth: token },
            sub: { type: 'sub', id, path: `/workspaces/${w}` },
            resume: { type: 'sub', id, path: `/workspaces/${w}/since/0` },
            job: { type: 'sub', id, path: `/jobs/${job}` },
            reauth: { type: 'reauth', id, auth: token },
            request: { type: 'request', id, method: 'POST', path: `/api/projects/workspaces/${w}/events/`, payload: { event: 'note', payload: { id } } },
            unsub: { type: 'unsub', id, path: `/workspaces/${w}` }
        }[step]);
    }

    function plainFrame(step: typeof PLAIN_STEPS[number]): string {
        return JSON.stringify({
            event: { event: 'note', payload: {} },
            reauth: { event: 'auth', payload: { token: team.collaborator.access } },
            file: { event: 'file_change', payload: { file: 'drop.txt', content: 'x' } }
        }[step]);
    }

    /** Plays one exchange up to its drop; resolves once the client side saw the socket close. */
    async function play(d: Drop): Promise<void> {
        const url = d.transport === 'nes'
            ? `ws://127.0.0.1:${s.port}/`
            : `ws://127.0.0.1:${s.port}/ws/workspaces/${team.workspaceId}/?token=${team.collaborator.access}${d.resume ? '&since=0' : ''}`;
        const ws = new WebSocket(url);
        const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
        ws.on('error', () => undefined);
        const replies: unknown[] = [];
        ws.on('message', (data) => {
            const text = data.toString();
            if (text.startsWith('{"type":"ping"')) {
                ws.send(text);
            }

            replies.push(text);
        });
        const end = () => (d.how === 'terminate' ? ws.terminate() : ws.close());
        if (d.duringHandshake) {
            setTimeout(() => ws.terminate(), d.delayMs);
            return closed;
        }

        const opened = await new Promise<boolean>((resolve) => {
            ws.once('open', () => resolve(true));
            ws.once('close', () => resolve(false));
        });
        if (opened) {
            const steps = d.transport === 'nes' ? NES_STEPS.slice(0, d.steps).map((step, i) => nesFrame(step, i + 1)) : PLAIN_STEPS.slice(0, d.steps).map(plainFrame);
            for (const [i, text] of steps.entries()) {
                const seen = replies.length;
                ws.send(text);
                if (d.waits[i]) {
                    await until(() => replies.length > seen || ws.readyState !== WebSocket.OPEN, 5_000).catch(() => undefined);
                }
            }

            if (d.delayMs) {
                setTimeout(end, d.delayMs);
            }
            else {
                end();
            }
        }

        return closed;
    }

    it('keeps the process alive and leaves no connection, topic or Redis subscription behind', async () => {
        const realtime = s.server.plugins['collab-realtime'];
        await fc.assert(fc.asyncProperty(fc.array(drop, { minLength: 1, maxLength: 4 }), async (drops) => {
            const mark = crashes.errors.length;
            await Promise.all(drops.map(play));
            // Once the server has let go of the sockets, what they set off is attributed to this run.
            await until(() => realtime.sockets().nes + realtime.sockets().ws === 0, 5_000).catch(() => undefined);
            await new Promise((resolve) => setImmediate(resolve));
            assert.deepEqual(crashes.errors.slice(mark), [], JSON.stringify(drops));
        }), fuzzParameters(150));

        assert.equal((await s.http('GET', '/healthz')).statusCode, 200);
        const hub = realtime.hub as unknown as { topics: Map<number, unknown>; resumed: Map<unknown, unknown>; users: Map<number, unknown> };
        const bus = s.server.app.bus as unknown as { topics: Map<string, unknown> };
        await until(() => realtime.sockets().nes + realtime.sockets().ws === 0 && realtime.hub.connections().length === 0, 10_000, 'every socket to be gone');
        await until(async () => hub.topics.size + hub.resumed.size + bus.topics.size === 0 && (await channels()).join() === channelsBefore.join(), 10_000, 'topics and Redis subscriptions to be gone')
            .catch(async (err: Error) => {
                throw new Error(`${err.message}: hub topics ${hub.topics.size}, resumed ${hub.resumed.size}, bus topics ${bus.topics.size}, channels ${JSON.stringify(await channels())} (before ${JSON.stringify(channelsBefore)})`);
            });
        assert.equal(hub.users.size, 0);
        assert.deepEqual(crashes.errors, []);
    });
});
