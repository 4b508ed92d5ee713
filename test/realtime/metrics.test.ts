import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { makeTeam, nesClient, nesSubscribe, plainClient, startServer, until, type NesClientType, type PlainClient, type RealtimeServer, type Team } from './helpers.js';

/** The value of one sample in Prometheus text. */
function sample(text: string, name: string): number {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : 0;
}

describe('fan-out cost and metrics', () => {
    let t: RealtimeServer;
    let team: Team;
    const plains: PlainClient[] = [];
    const nes: NesClientType[] = [];

    before(async () => {
        t = await startServer();
        team = await makeTeam(t);
    });
    after(async () => {
        plains.forEach((client) => client.ws.terminate());
        await Promise.all(nes.map((client) => client.disconnect()));
        await t.stop();
    });

    it('serializes each event once per frame shape, not once per socket, and counts sockets and deliveries', async () => {
        for (let i = 0; i < 3; i++) {
            plains.push(plainClient(t.port, team.workspaceId, team.viewer.access));
        }

        await Promise.all(plains.map((client) => client.opened));
        const feeds: Array<Awaited<ReturnType<typeof nesSubscribe>>> = [];
        for (let i = 0; i < 2; i++) {
            const client = await nesClient(t.port, team.viewer.access);
            nes.push(client);
            feeds.push(await nesSubscribe(client, `/workspaces/${team.workspaceId}`));
        }

        const metrics = async () => (await t.http('GET', '/metrics')).result as string;
        const before = await metrics();
        assert.match(before, /realtime_sockets\{transport="ws"\} 3/);
        assert.match(before, /realtime_sockets\{transport="nes"\} 2/);

        for (let i = 0; i < 10; i++) {
            await t.http('POST', `/api/projects/workspaces/${team.workspaceId}/events/`, team.owner.access, { event: 'count', payload: i });
        }

        await until(() => plains.every((c) => c.frames.filter((f) => f.event === 'count').length === 10)
            && feeds.every((f) => f.messages.filter((m) => m.event === 'count').length === 10));
        const now = await metrics();
        const delta = (name: string) => sample(now, name) - sample(before, name);
        assert.equal(delta('realtime_events_received_total'), 10);
        assert.equal(delta('realtime_frames_serialized_total'), 20, 'one frame for the plain sockets, one for the nes path');
        assert.equal(delta('realtime_deliveries_total{transport="ws"}'), 30);
        assert.equal(delta('realtime_deliveries_total{transport="nes"}'), 20);
        assert.equal(delta('realtime_events_published_total{source="http"}'), 10);
    });
});
