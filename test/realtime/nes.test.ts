import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { makeTeam, nesClient, nesConnection, nesSubscribe, plainClient, startServer, until, type NesClientType, type PlainClient, type RealtimeServer, type Team } from './helpers.js';

describe('nes transport', () => {
    let t: RealtimeServer;
    let team: Team;
    let path: string;
    let events: string;
    const clients: NesClientType[] = [];
    const plains: PlainClient[] = [];
    const connect = async (token: string) => {
        const client = await nesClient(t.port, token);
        clients.push(client);
        return client;
    };

    before(async () => {
        t = await startServer();
        team = await makeTeam(t);
        path = `/workspaces/${team.workspaceId}`;
        events = `/api/projects/workspaces/${team.workspaceId}/events/`;
    });
    after(async () => {
        await Promise.all(clients.map((client) => client.disconnect()));
        plains.forEach((client) => client.ws.terminate());
        await t.stop();
    });

    it('refuses a connection without a valid token', async () => {
        await assert.rejects(nesClient(t.port, 'nonsense'), (err: { statusCode?: number }) => err.statusCode === 401);
        await assert.rejects(nesClient(t.port, team.owner.refresh), (err: { statusCode?: number }) => err.statusCode === 401);
    });

    it('sends events with client.request to the HTTP route: one code path, 202 {seq}', async () => {
        const viewer = await connect(team.viewer.access);
        const { messages } = await nesSubscribe(viewer, path);
        const sender = await connect(team.collaborator.access);
        const res = await sender.request({ method: 'POST', path: events, payload: { event: 'file_change', payload: { file: 'nes.txt', content: 'via nes' } } });
        assert.equal(res.statusCode, 202);
        const { seq } = res.payload as { seq: number };
        assert.ok(seq >= 1);
        await until(() => messages.some((m) => m.seq === seq));
        const got = messages.find((m) => m.seq === seq)!;
        assert.deepEqual(got.payload, { file: 'nes.txt', content: 'via nes', revision: 1 });
        assert.equal(got.user, team.collaborator.email);

        const http = await t.http('POST', events, team.owner.access, { event: 'chat', payload: { text: 'via http' } });
        assert.equal(http.statusCode, 202);
        await until(() => messages.some((m) => m.event === 'chat'));
        assert.deepEqual(messages.filter((m) => m.seq !== undefined).map((m) => m.seq), [seq, seq + 1]);
    });

    it('answers the same errors as HTTP: 403 viewer, 404 non-member, 400 bad name, 413 payload', async () => {
        const viewer = await connect(team.viewer.access);
        const outsider = await connect(team.outsider.access);
        const status = (client: NesClientType, payload: unknown) => client.request({ method: 'POST', path: events, payload }).then(
            () => 0, (err: { statusCode: number }) => err.statusCode);
        assert.equal(await status(viewer, { event: 'chat', payload: 1 }), 403);
        assert.equal(await status(outsider, { event: 'chat', payload: 1 }), 404);
        const owner = await connect(team.owner.access);
        assert.equal(await status(owner, { event: 'Bad', payload: 1 }), 400);
        assert.equal(await status(owner, { event: 'chat', payload: 'x'.repeat(70_000) }), 413);
        assert.equal((await t.http('POST', events, team.viewer.access, { event: 'chat', payload: 1 })).statusCode, 403);
    });

    it('closes a nes socket with 1009 on a message over 1 MiB', async () => {
        const { client, closed } = await nesConnection(t.port, team.owner.access);
        clients.push(client);
        client.request({ method: 'POST', path: events, payload: { event: 'chat', payload: 'x'.repeat(1024 * 1024 + 10) } }).catch(() => undefined);
        assert.equal((await closed).code, 1009);
    });

    it('refuses a non-member\'s subscription with 404 instead of filtering it', async () => {
        const outsider = await connect(team.outsider.access);
        await assert.rejects(outsider.subscribe(path, () => undefined), (err: { statusCode?: number }) => err.statusCode === 404);
        await assert.rejects(outsider.subscribe('/workspaces/999999', () => undefined), (err: { statusCode?: number }) => err.statusCode === 404);
        assert.deepEqual(outsider.subscriptions(), []);
    });

    it('delivers byte-identical envelopes to nes and plain subscribers', async () => {
        const nes = await connect(team.viewer.access);
        const { messages } = await nesSubscribe(nes, path);
        const plain = plainClient(t.port, team.workspaceId, team.viewer.access);
        plains.push(plain);
        await plain.opened;
        const raw: string[] = [];
        plain.ws.on('message', (data) => raw.push(data.toString()));
        const res = await t.http('POST', events, team.owner.access, { event: 'note', payload: { n: [1, 'two', { three: 3 }] } });
        const seq = (res.result as { seq: number }).seq;
        await until(() => messages.some((m) => m.seq === seq) && raw.some((r) => r.includes(`"seq":${seq},`)));
        const text = raw.find((r) => r.includes(`"seq":${seq},`))!;
        assert.deepEqual(messages.find((m) => m.seq === seq), JSON.parse(text));
    });

    it('resumes with /since/{seq}: exactly the missed events, then live', async () => {
        const owner = await connect(team.owner.access);
        const start = (await t.http('POST', events, team.owner.access, { event: 'mark', payload: 0 })).result as { seq: number };
        for (let i = 1; i <= 3; i++) {
            await t.http('POST', events, team.owner.access, { event: 'missed', payload: i });
        }

        const resumed = await nesSubscribe(owner, `${path}/since/${start.seq}`);
        const live = (await t.http('POST', events, team.owner.access, { event: 'live', payload: 4 })).result as { seq: number };
        await until(() => resumed.messages.some((m) => m.seq === live.seq));
        assert.deepEqual(resumed.messages.filter((m) => !m.event.startsWith('presence.')).map((m) => m.seq), [start.seq + 1, start.seq + 2, start.seq + 3, live.seq]);
        assert.ok(resumed.messages.every((m) => m.event !== 'resync'));
    });

    it('tells a client with a stale epoch to resync, then replays the current epoch', async () => {
        const owner = await connect(team.owner.access);
        const { messages } = await nesSubscribe(owner, `${path}/since/5/not-the-epoch`);
        await until(() => messages.length > 1);
        const [first, second] = messages;
        assert.equal(first!.event, 'resync');
        assert.equal(first!.payload.reason, 'epoch_changed');
        assert.equal(typeof first!.payload.epoch, 'string');
        assert.equal(second!.seq, 1);
        assert.equal(second!.epoch, first!.payload.epoch);
    });

    it('refuses a re-authentication as another user and closes the socket', async () => {
        const client = await connect(team.owner.access);
        await assert.rejects(client.reauthenticate({ headers: { authorization: `Bearer ${team.viewer.access}` } }),
            (err: { statusCode?: number; message?: string }) => err.statusCode === 403 && err.message === 'Re-authentication must be for the same user');
        await until(() => !(client as unknown as { _ws: unknown })._ws);
    });

    it('re-authenticates as the same user', async () => {
        const client = await connect(team.owner.access);
        assert.equal(await client.reauthenticate({ headers: { authorization: `Bearer ${team.owner.access}` } }), true);
        await nesSubscribe(client, path);
    });

    it('unsubscribes and leaves presence when the socket goes', async () => {
        const fresh = await t.user('fresh');
        await t.http('POST', `/api/projects/projects/${team.projectId}/members/`, team.owner.access, { user_id: fresh.id, role: 'viewer' });
        const client = await connect(fresh.access);
        await nesSubscribe(client, path);
        const present = async () => ((await t.http('GET', `/api/projects/workspaces/${team.workspaceId}/presence`, fresh.access)).result as Array<{ user_id: number }>)
            .some((p) => p.user_id === fresh.id);
        await until(present, 5000, 'presence join');
        await client.disconnect();
        await until(async () => !await present(), 5000, 'presence leave');
    });
});
