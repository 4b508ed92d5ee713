import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createTestDatabase, onPglite, type TestDatabase } from '../helpers/database.js';
import { cleanRedis } from '../helpers/server.js';
import { makeTeam, nesClient, nesSubscribe, plainClient, until, type Frame, type NesClientType, type PlainClient, type Team, type User } from './helpers.js';
import { clusterEnv, startInstance, type Instance } from './processes.js';

// The instances run with the default PRESENCE_TTL_MS; the server sweeps dead instances every half TTL
// (packages/server/src/plugins/bus.ts), so a killed instance's users are gone within TTL + TTL / 2, plus slack.
const PRESENCE_TTL_MS = 10_000;
const SWEPT_WITHIN_MS = PRESENCE_TTL_MS + PRESENCE_TTL_MS / 2 + 3_000;

describe('two server processes on one Redis and one database', { skip: onPglite && 'needs PostgreSQL' }, () => {
    let database: TestDatabase;
    let env: Record<string, string>;
    let a: Instance;
    let b: Instance;
    let team: Team;
    const plains: PlainClient[] = [];
    const nes: NesClientType[] = [];
    const plain = (at: Instance, token: string, query?: string, workspaceId = team.workspaceId) => {
        const client = plainClient(at.port, workspaceId, token, { query });
        plains.push(client);
        return client;
    };

    const nesAt = async (at: Instance, token: string) => {
        const client = await nesClient(at.port, token);
        nes.push(client);
        return client;
    };

    const events = (workspaceId = team.workspaceId) => `/api/projects/workspaces/${workspaceId}/events/`;
    const member = async (role: string): Promise<User> => {
        const user = await a.user(role);
        await a.http('POST', `/api/projects/projects/${team.projectId}/members/`, team.owner.access, { user_id: user.id, role });
        return user;
    };

    before(async () => {
        database = await createTestDatabase();
        env = clusterEnv(database.url!, { PRESENCE_TTL_MS: String(PRESENCE_TTL_MS) });
        [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
        team = await makeTeam(a);
    });
    after(async () => {
        plains.forEach((client) => client.ws.terminate());
        await Promise.all(nes.map((client) => client.disconnect()));
        await Promise.all([a?.stop(), b?.stop()]);
        await cleanRedis(env.REDIS_PREFIX!);
        await database?.drop();
    });

    it('delivers events sent through both transports on both instances to every subscriber once, in seq order', async () => {
        const created = await a.http('POST', `/api/projects/projects/${team.projectId}/workspaces/`, team.owner.access, { name: 'load' });
        const workspaceId = (created.result as { id: number }).id;
        const path = `/workspaces/${workspaceId}`;
        const watchers = await Promise.all([nesAt(a, team.viewer.access), nesAt(b, team.viewer.access)]);
        const nesFeeds = await Promise.all(watchers.map((client) => nesSubscribe(client, path)));
        const plainSenders = [plain(a, team.owner.access, undefined, workspaceId), plain(b, team.collaborator.access, undefined, workspaceId)];
        const plainWatchers = [plain(a, team.viewer.access, undefined, workspaceId), plain(b, team.viewer.access, undefined, workspaceId)];
        await Promise.all([...plainSenders, ...plainWatchers].map((client) => client.opened));
        const nesSenders = await Promise.all([nesAt(a, team.owner.access), nesAt(b, team.collaborator.access)]);

        const perSender = 15;
        const sends: Array<Promise<unknown>> = [];
        for (let i = 0; i < perSender; i++) {
            plainSenders.forEach((client, n) => client.send({ event: 'load', payload: { from: `plain-${n}`, i } }));
            nesSenders.forEach((client, n) => sends.push(client.request({ method: 'POST', path: events(workspaceId), payload: { event: 'load', payload: { from: `nes-${n}`, i } } })));
            [a, b].forEach((at, n) => sends.push(at.http('POST', events(workspaceId), team.owner.access, { event: 'load', payload: { from: `http-${n}`, i } })));
        }

        await Promise.all(sends);
        const total = perSender * 6;
        const feeds: Array<() => Frame[]> = [
            ...nesFeeds.map((feed) => () => feed.messages),
            ...[...plainSenders, ...plainWatchers].map((client) => () => client.frames)
        ];
        const loads = (feed: () => Frame[]) => feed().filter((f) => f.event === 'load');
        await until(() => feeds.every((feed) => loads(feed).length >= total), 15_000, 'every subscriber got every event');
        // Each subscriber gets events in seq order: a duplicate or a late one would come before this last event.
        const last = ((await b.http('POST', events(workspaceId), team.owner.access, { event: 'last', payload: {} })).result as { seq: number }).seq;
        await until(() => feeds.every((feed) => feed().some((f) => f.seq === last)), 15_000, 'every subscriber got the last event');

        const reference = loads(feeds[0]!).map((f) => f.seq);
        assert.deepEqual(reference, Array.from({ length: total }, (_, i) => i + 1), 'seq 1..N, no gap, no duplicate');
        for (const feed of feeds) {
            const got = loads(feed);
            assert.equal(got.length, total);
            assert.deepEqual(got.map((f) => f.seq), reference);
            const keys = new Set(got.map((f) => `${(f.payload as { from: string }).from}/${(f.payload as { i: number }).i}`));
            assert.equal(keys.size, total);
        }
    });

    it('resumes after a dropped connection with exactly the missed events, on both transports', async () => {
        const watcher = plain(b, team.viewer.access);
        await watcher.opened;
        await a.http('POST', events(), team.owner.access, { event: 'before', payload: 1 });
        const seen = await watcher.next((f) => f.event === 'before');
        watcher.ws.terminate();

        const missed: number[] = [];
        for (let i = 0; i < 5; i++) {
            missed.push(((await a.http('POST', events(), team.owner.access, { event: 'missed', payload: i })).result as { seq: number }).seq);
        }

        const resumed = plain(b, team.viewer.access, `since=${seen.seq}&epoch=${seen.epoch}`);
        const client = await nesAt(b, team.viewer.access);
        const nesResumed = await nesSubscribe(client, `/workspaces/${team.workspaceId}/since/${seen.seq}/${seen.epoch}`);
        await resumed.opened;
        const live = ((await a.http('POST', events(), team.owner.access, { event: 'live', payload: 1 })).result as { seq: number }).seq;
        for (const feed of [() => resumed.frames, () => nesResumed.messages]) {
            await until(() => feed().some((f) => f.seq === live), 5000, 'live event after the replay');
            const stored = feed().filter((f) => f.seq !== undefined);
            assert.deepEqual(stored.map((f) => f.seq), [...missed, live]);
            assert.ok(!feed().some((f) => f.event === 'resync'));
        }
    });

    it('counts presence across instances', async () => {
        const [u1, u2] = await Promise.all([member('viewer'), member('viewer')]);
        const watcher = plain(a, team.owner.access);
        await watcher.opened;
        const u1a = plain(a, u1.access);
        const u1b = await nesAt(b, u1.access);
        await nesSubscribe(u1b, `/workspaces/${team.workspaceId}`);
        const u2b = await nesAt(b, u2.access);
        await nesSubscribe(u2b, `/workspaces/${team.workspaceId}`);
        await u1a.opened;
        await watcher.next((f) => f.event === 'presence.join' && f.user_id === u2.id);
        const list = async (at: Instance) => (await at.http('GET', `/api/projects/workspaces/${team.workspaceId}/presence/`, team.viewer.access)).result as Array<{ user_id: number; connections: number; user: string; since: string }>;
        const entry = async (at: Instance, id: number) => (await list(at)).find((p) => p.user_id === id);
        await until(async () => (await entry(a, u1.id))?.connections === 2, 5000, 'u1 on both instances');
        assert.equal((await entry(b, u2.id))?.connections, 1);
        assert.equal((await entry(b, u1.id))?.user, u1.email);

        u1a.close();
        await until(async () => (await entry(b, u1.id))?.connections === 1, 5000, 'u1 down to one connection');
        await u2b.disconnect();
        await watcher.next((f) => f.event === 'presence.leave' && f.user_id === u2.id);
        assert.equal(await entry(a, u2.id), undefined);
    });

    it('restricts a demoted member and revokes a removed one on the other instance within a second', async () => {
        const m = await member('collaborator');
        const socket = plain(b, m.access);
        const client = await nesAt(b, m.access);
        const feed = await nesSubscribe(client, `/workspaces/${team.workspaceId}`);
        await socket.opened;

        // The contract's bound, counted from before the change is sent; waits are longer so a miss reports its time.
        let started = Date.now();
        await a.http('PATCH', `/api/projects/projects/${team.projectId}/members/${m.id}/`, team.owner.access, { role: 'viewer' });
        const notice = await socket.next((f) => f.event === 'role', 10_000);
        const plainTold = Date.now() - started;
        assert.equal(notice.payload.role, 'viewer');
        await until(() => feed.messages.some((f) => f.event === 'role'), 10_000, 'nes told of the role');
        const nesTold = Date.now() - started;
        assert.ok(plainTold < 1000 && nesTold < 1000, `told of the role after ${plainTold} ms (plain), ${nesTold} ms (nes)`);
        const from = socket.frames.length;
        socket.send({ event: 'chat', payload: 'as viewer' });
        assert.equal((await socket.next((f) => f.event === 'error', 5000, from)).payload.code, 403);

        started = Date.now();
        await a.http('DELETE', `/api/projects/projects/${team.projectId}/members/${m.id}/`, team.owner.access);
        const closed = await socket.closed;
        const plainRevoked = Date.now() - started;
        assert.equal(closed.code, 4403);
        await until(() => feed.flags.some((f) => f.revoked), 10_000, 'nes subscription revoked');
        const nesRevoked = Date.now() - started;
        assert.ok(plainRevoked < 1000 && nesRevoked < 1000, `revoked after ${plainRevoked} ms (plain), ${nesRevoked} ms (nes)`);
        assert.deepEqual(client.subscriptions(), []);
        await assert.rejects(client.subscribe(`/workspaces/${team.workspaceId}`, () => undefined), (err: { statusCode?: number }) => err.statusCode === 404);
    });

    it('sweeps the users of a SIGKILLed instance within the presence TTL and one sweep (10 s + 5 s by default)', async (t) => {
        const k = await member('viewer');
        const watcher = plain(a, team.owner.access);
        await watcher.opened;
        // Presence events are not replayed: make sure the watcher's instance hears the workspace before k joins.
        await b.http('POST', events(team.workspaceId), team.owner.access, { event: 'sync', payload: {} });
        await watcher.next((f) => f.event === 'sync', 15_000);
        const gone = plain(b, k.access);
        await gone.opened;
        await watcher.next((f) => f.event === 'presence.join' && f.user_id === k.id, 15_000);
        const from = watcher.frames.length;
        const started = Date.now();
        await b.kill();
        await watcher.next((f) => f.event === 'presence.leave' && f.user_id === k.id, SWEPT_WITHIN_MS, from);
        const elapsed = Date.now() - started;
        t.diagnostic(`presence.leave ${elapsed} ms after SIGKILL`);
        assert.ok(elapsed <= SWEPT_WITHIN_MS, `presence.leave ${elapsed} ms after SIGKILL`);
        const listed = (await a.http('GET', `/api/projects/workspaces/${team.workspaceId}/presence/`, team.owner.access)).result as Array<{ user_id: number }>;
        assert.ok(!listed.some((p) => p.user_id === k.id));
    });
});
