import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CollabClient, ConnectionError, NotFoundError, type EventEnvelope, type RealtimeStatus, type ResyncInfo } from '@collab/sdk';

import { startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { gate, type Gate } from './gated-websocket.js';

/** What one subscription saw. */
interface Seen {
    events: EventEnvelope[];
    statuses: RealtimeStatus[];
    seqs(): number[];
}

const seen = (): Seen => {
    const events: EventEnvelope[] = [];
    return { events, statuses: [], seqs: () => events.filter((e) => e.seq !== undefined).map((e) => e.seq!) };
};

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('client.realtime.subscribe()', () => {
    let t: TestServer;
    let owner: TestUser;
    let projectId: number;
    let workspaceId: number;
    const clients: CollabClient[] = [];
    const client = (user: TestUser, g: Gate = gate()) => {
        const c = new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh, WebSocket: g.WebSocket });
        clients.push(c);
        return c;
    };
    const send = async (c: CollabClient, n: number, tag: string) => {
        const seqs: number[] = [];
        for (let i = 0; i < n; ++i) {
            seqs.push((await c.events.send(workspaceId, { event: 'chat.message', payload: { tag, i } })).seq);
        }

        return seqs;
    };
    const subscribe = async (c: CollabClient, s: Seen, options: { since?: number; epoch?: string } = {}) =>
        c.realtime.subscribe(workspaceId, (e) => s.events.push(e), { ...options, onStatus: (status) => s.statuses.push(status) });

    before(async () => {
        t = await startTestServer({ listen: true });
        owner = await t.user('owner');
        const c = client(owner);
        projectId = (await c.projects.create({ name: 'Realtime' })).id;
        workspaceId = (await c.workspaces.create(projectId, { name: 'live' })).id;
    });
    after(async () => {
        await Promise.all(clients.map((c) => c.realtime.close()));
        await t.stop();
    });

    it('delivers events sent through REST in seq order, the sender included, with presence', async () => {
        const c = client(owner);
        const s = seen();
        const stop = await subscribe(c, s);
        const seqs = await send(c, 5, 'rest');
        await until(() => s.seqs().length === 5, 10_000, 'five events');
        assert.deepEqual(s.seqs(), seqs);
        assert.deepEqual(seqs, range(seqs[0]!, seqs[0]! + 4));
        const first = s.events.find((e) => e.seq === seqs[0])!;
        assert.deepEqual([first.event, first.payload, first.user, first.workspace], ['chat.message', { tag: 'rest', i: 0 }, owner.email, workspaceId]);
        assert.ok(s.events.some((e) => e.event === 'presence.join' && e.seq === undefined));
        assert.deepEqual(s.statuses[0], { state: 'connected', resumed: false, after: undefined, epoch: undefined });
        stop();
    });

    it('replays the retained events after `since`, then live ones', async () => {
        const c = client(owner);
        const sent = await send(c, 3, 'before');
        const s = seen();
        const stop = await subscribe(c, s, { since: sent[0]! });
        await until(() => s.seqs().length === 2, 10_000, 'the replay');
        const live = await send(c, 2, 'after');
        await until(() => s.seqs().length === 4, 10_000, 'live events');
        assert.deepEqual(s.seqs(), [sent[1], sent[2], ...live]);
        stop();
    });

    it('reports a stale epoch with onResync, then replays the current epoch from its start', async () => {
        const c = client(owner);
        const sent = await send(c, 2, 'epoch');
        const s = seen();
        const resyncs: ResyncInfo[] = [];
        const stop = await c.realtime.subscribe(workspaceId, (e) => s.events.push(e), { since: sent[1]!, epoch: 'stale-epoch', onResync: (info) => resyncs.push(info) });
        await until(() => s.seqs().length >= sent[1]!, 10_000, 'the replay of the current epoch');
        const epoch = s.events.find((e) => e.seq !== undefined)!.epoch!;
        assert.deepEqual(resyncs, [{ epoch, after: sent[1], reason: 'epoch_changed' }]);
        assert.deepEqual(s.seqs(), range(1, sent[1]!));
        const live = await send(c, 1, 'after resync');
        await until(() => s.seqs().includes(live[0]!), 10_000, 'a live event');
        stop();
    });

    it('resumes after a cut socket: the events sent while down arrive once, in order, and it says where it resumed', async () => {
        const g = gate();
        const c = client(owner, g);
        const s = seen();
        const stop = await subscribe(c, s);
        const before = await send(c, 3, 'up');
        await until(() => s.seqs().length === 3, 10_000, 'the first events');

        g.block();
        g.cut();
        await until(() => s.statuses.some((x) => x.state === 'disconnected'), 5_000, 'the disconnection');
        const down = await send(c, 4, 'down');
        await until(() => s.statuses.filter((x) => x.state === 'disconnected').length >= 2, 10_000, 'a failed reconnect attempt');
        g.open();
        await until(() => s.seqs().length === 7, 20_000, 'the missed events');
        const later = await send(c, 2, 'again');
        await until(() => s.seqs().length === 9, 10_000, 'live events after the reconnect');

        assert.deepEqual(s.seqs(), [...before, ...down, ...later]);
        const resumed = s.statuses.filter((x) => x.state === 'connected' && x.resumed);
        assert.equal(resumed.length, 1);
        assert.equal(resumed[0]!.state === 'connected' && resumed[0]!.after, before[2]);
        const attempts = s.statuses.flatMap((x) => (x.state === 'disconnected' ? [x.attempt] : []));
        assert.deepEqual(attempts, range(1, attempts.length));
        assert.ok(s.statuses.every((x) => x.state !== 'disconnected' || x.retryInMs <= 10_000));
        stop();
    });

    it('never delivers twice when the socket is cut again and again', async () => {
        const g = gate();
        const c = client(owner, g);
        const s = seen();
        const stop = await subscribe(c, s);
        const sent: number[] = [];
        for (let round = 0; round < 4; ++round) {
            sent.push(...await send(c, 2, `round-${round}`));
            g.cut();
            await until(() => s.statuses.filter((x) => x.state === 'connected').length > round + 1, 15_000, `reconnect ${round + 1}`);
        }

        sent.push(...await send(c, 1, 'last'));
        await until(() => s.seqs().length >= sent.length, 15_000, 'every event');
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(s.seqs(), sent);
        stop();
    });

    it('shares one socket between subscriptions, and closes it with the last', async () => {
        const g = gate();
        const c = client(owner, g);
        const a = seen();
        const b = seen();
        const stopA = await subscribe(c, a);
        const stopB = await subscribe(c, b);
        assert.equal(g.opened(), 1);
        const seqs = await send(c, 2, 'shared');
        await until(() => a.seqs().length === 2 && b.seqs().length === 2, 10_000, 'both subscriptions');
        assert.deepEqual(b.seqs(), seqs);
        stopA();
        stopB();
        await until(async () => (await c.workspaces.presence(workspaceId)).every((p) => p.user_id !== owner.id), 10_000, 'the socket to close');
    });

    it('refuses a workspace the caller cannot see, and an unreachable server', async () => {
        const outsider = client(await t.user('outsider'));
        await assert.rejects(outsider.realtime.subscribe(workspaceId, () => undefined), NotFoundError);
        const nowhere = new CollabClient({ baseUrl: 'http://127.0.0.1:9', token: owner.access, WebSocket: gate().WebSocket });
        await assert.rejects(nowhere.realtime.subscribe(workspaceId, () => undefined), ConnectionError);
    });

    it('reports a revoked subscription once and does not reconnect it', async () => {
        const member = await t.user('member');
        await client(owner).members.add(projectId, { user_id: member.id, role: 'collaborator' });
        const c = client(member);
        const s = seen();
        await subscribe(c, s);
        await client(owner).members.setRole(projectId, member.id, 'viewer');
        await until(() => s.statuses.some((x) => x.state === 'role'), 10_000, 'the role message');
        assert.ok(s.statuses.some((x) => x.state === 'role' && x.role === 'viewer'));

        await client(owner).members.remove(projectId, member.id);
        await until(() => s.statuses.some((x) => x.state === 'revoked'), 10_000, 'the revocation');
        await send(client(owner), 1, 'after revoke');
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(s.statuses.filter((x) => x.state === 'revoked').length, 1);
        assert.equal(s.statuses.at(-1)!.state, 'revoked');
        assert.ok(s.events.every((e) => (e.payload as { tag?: string }).tag !== 'after revoke'));
    });
});
