import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';

import type { EventEnvelope } from '@collab/sdk';
import { Redis } from 'ioredis';

import { BusValidationError, EpochMismatchError, EventBus, type EventBusOptions, type Unsubscribe } from '../../packages/core/src/bus/index.js';
import { busKeys } from '../../packages/core/src/bus/keys.js';
import { Topic, type Delivery, type StreamRead } from '../../packages/core/src/bus/topic.js';
import { cleanRedis } from '../helpers/server.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `collab-test-${randomUUID()}:`;
const keys = busKeys(prefix);
const connections: Redis[] = [];
const buses: EventBus[] = [];
const admin = connect();
let nextWorkspace = 1;

function connect(): Redis {
    const redis = new Redis(REDIS_URL);
    connections.push(redis);
    return redis;
}

function makeBus(options: Partial<EventBusOptions> = {}): EventBus {
    const bus = new EventBus({ redis: connect(), subscriber: connect(), prefix, instanceId: `test-${randomUUID()}`, ...options });
    buses.push(bus);
    return bus;
}

function workspace(): number {
    return nextWorkspace++;
}

function collect(bus: EventBus, workspaceId: number): { events: EventEnvelope[]; jsons: string[]; stop: Unsubscribe } {
    const events: EventEnvelope[] = [];
    const jsons: string[] = [];
    const stop = bus.subscribe(workspaceId, (envelope, json) => {
        events.push(envelope);
        jsons.push(json);
    });
    return { events, jsons, stop };
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!await condition()) {
        if (Date.now() > deadline) {
            throw new Error('timed out waiting for condition');
        }

        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}

async function channels(): Promise<string[]> {
    return (await admin.pubsub('CHANNELS', `${prefix}*`) as string[]).sort();
}

async function subscribers(channel: string): Promise<number> {
    const reply = await admin.pubsub('NUMSUB', channel) as [string, number];
    return Number(reply[1]);
}

function seqs(events: EventEnvelope[]): number[] {
    return events.map((event) => event.seq!);
}

function range(from: number, to: number): number[] {
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const sender = { user: 'ann@example.com', user_id: 7 };

after(async () => {
    for (const bus of buses) {
        await bus.close();
    }

    await cleanRedis(prefix);

    await Promise.all(connections.map((redis) => redis.quit()));
});

describe('publish()', () => {
    it('numbers events one by one across instances and every subscriber sees each once, in seq order', async () => {
        const a = makeBus();
        const b = makeBus();
        const id = workspace();
        const onA = collect(a, id);
        const onB = collect(b, id);
        await Promise.all([onA.stop.ready, onB.stop.ready]);

        const published = await Promise.all(range(1, 200).map((i) => (i % 2 ? a : b).publish(id, { ...sender, event: 'tick', payload: { i } })));
        assert.deepEqual(seqs(published).sort((x, y) => x - y), range(1, 200));

        await waitFor(() => onA.events.length >= 200 && onB.events.length >= 200);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(seqs(onA.events), range(1, 200));
        assert.deepEqual(seqs(onB.events), range(1, 200));
        assert.equal(new Set(published.map((event) => event.epoch)).size, 1);
    });

    it('delivers an event to a subscriber on the publishing instance once, ignoring its pub/sub echo', async () => {
        const a = makeBus();
        const id = workspace();
        const seen = collect(a, id);
        await seen.stop.ready;

        const envelope = await a.publish(id, { ...sender, event: 'note', payload: { text: 'hi' } });
        await new Promise((resolve) => setTimeout(resolve, 150));
        assert.equal(seen.events.length, 1);
        assert.deepEqual(seen.events[0], envelope);
        assert.deepEqual(JSON.parse(seen.jsons[0]!), envelope);
    });

    it('hands every listener the same serialized envelope, in contract field order', async () => {
        const a = makeBus();
        const b = makeBus();
        const id = workspace();
        const first = collect(b, id);
        const second = collect(b, id);
        await second.stop.ready;

        await a.publish(id, { ...sender, event: 'file_change', payload: { file: 'a.js', content: 'x' } });
        await waitFor(() => first.jsons.length === 1 && second.jsons.length === 1);
        assert.equal(first.jsons[0], second.jsons[0]);
        assert.equal(first.events[0], second.events[0]);
        assert.deepEqual(Object.keys(JSON.parse(first.jsons[0]!)), ['event', 'payload', 'user', 'user_id', 'workspace', 'seq', 'epoch', 'ts']);
    });

    it('gives local listeners the payload remote ones get (JSON, not the caller\'s objects)', async () => {
        const a = makeBus();
        const id = workspace();
        const seen = collect(a, id);
        const when = new Date('2026-01-01T00:00:00.000Z');
        const envelope = await a.publish(id, { ...sender, event: 'note', payload: { when, gone: undefined } });
        assert.deepEqual(envelope.payload, { when: '2026-01-01T00:00:00.000Z' });
        await waitFor(() => seen.events.length === 1);
        assert.deepEqual(seen.events[0]!.payload, { when: '2026-01-01T00:00:00.000Z' });
    });

    it('rejects a bad event name (400) and a payload over 64 KiB (413) without writing to Redis', async () => {
        const a = makeBus();
        const id = workspace();
        await assert.rejects(a.publish(id, { ...sender, event: 'Bad Name', payload: {} }), (err: unknown) => {
            assert.ok(err instanceof BusValidationError);
            assert.equal(err.name, 'BusValidationError');
            assert.equal(err.code, 400);
            return true;
        });
        await assert.rejects(a.publish(id, { ...sender, event: 'big', payload: 'é'.repeat(33 * 1024) }), { name: 'BusValidationError', code: 413 });
        await assert.rejects(a.publish(id, { ...sender, event: 'big', payload: { n: 1n } }), { name: 'BusValidationError', code: 400 });
        assert.equal(await admin.exists(keys.meta(id), keys.log(id)), 0);

        const exactly = await a.publish(id, { ...sender, event: 'max', payload: 'x'.repeat(64 * 1024 - 2) });
        assert.equal(exactly.seq, 1);
    });

    it('fills a hole left by a lost pub/sub message from the stream', async () => {
        const a = makeBus({ gapTimeoutMs: 50 });
        const b = makeBus();
        const id = workspace();
        const seen = collect(a, id);
        await seen.stop.ready;
        const first = await b.publish(id, { ...sender, event: 'one', payload: 1 });
        await waitFor(() => seen.events.length === 1);

        // Store seq 2 as the script does (atomically), but never publish it.
        const lost = { ...first, event: 'lost', payload: 2, seq: 2 };
        await admin.multi().hincrby(keys.meta(id), 'seq', 1).xadd(keys.log(id), '0-2', 'e', JSON.stringify(lost)).exec();
        await b.publish(id, { ...sender, event: 'three', payload: 3 });

        await waitFor(() => seen.events.length === 3);
        assert.deepEqual(seqs(seen.events), [1, 2, 3]);
        assert.equal(seen.events[1]!.event, 'lost');
    });

    it('keeps delivering to other listeners when one throws', async () => {
        const errors: Error[] = [];
        const a = makeBus({ onError: (err) => errors.push(err) });
        const id = workspace();
        a.subscribe(id, () => {
            throw new Error('listener broke');
        });
        const seen = collect(a, id);
        await a.publish(id, { ...sender, event: 'note', payload: null });
        await waitFor(() => seen.events.length === 1);
        assert.equal(errors[0]?.message, 'listener broke');
    });
});

describe('subscribe()', () => {
    it('subscribes to a workspace channel only while the instance has local listeners', async () => {
        const a = makeBus();
        const b = makeBus();
        const watched = workspace();
        const other = workspace();
        assert.equal(await subscribers(keys.channel(watched)), 0);

        const stop1 = a.subscribe(watched, () => {});
        const stop2 = a.subscribe(watched, () => {});
        await stop1.ready;
        assert.equal(await subscribers(keys.channel(watched)), 1);
        await b.publish(other, { ...sender, event: 'note', payload: null });
        assert.equal(await subscribers(keys.channel(other)), 0);

        stop1();
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(await subscribers(keys.channel(watched)), 1);
        stop2();
        await waitFor(async () => await subscribers(keys.channel(watched)) === 0);
        assert.ok(!(await channels()).some((channel) => channel === keys.channel(watched) || channel === keys.channel(other)));
    });

    it('delivers an event published on this instance right after subscribe()', async () => {
        const a = makeBus();
        const id = workspace();
        await a.publish(id, { ...sender, event: 'before', payload: null });
        const seen = collect(a, id);
        await a.publish(id, { ...sender, event: 'after', payload: null });
        await waitFor(() => seen.events.length === 1);
        assert.equal(seen.events[0]!.event, 'after');
        assert.equal(seen.events[0]!.seq, 2);
    });
    it('recovers events published while its pub/sub connection was down', async () => {
        const subscriber = connect();
        const a = makeBus({ subscriber });
        const b = makeBus();
        const id = workspace();
        const seen = collect(a, id);
        await seen.stop.ready;
        await b.publish(id, { ...sender, event: 'n', payload: 1 });
        await waitFor(() => seen.events.length === 1);

        subscriber.disconnect(true);
        await b.publish(id, { ...sender, event: 'n', payload: 2 });
        await b.publish(id, { ...sender, event: 'n', payload: 3 });
        await waitFor(() => seen.events.length === 3);
        assert.deepEqual(seqs(seen.events), [1, 2, 3]);
        assert.equal(await subscribers(keys.channel(id)), 1);
    });
});

describe('history()', () => {
    it('returns the retained events after a seq, oldest first', async () => {
        const a = makeBus();
        const id = workspace();
        for (let i = 1; i <= 5; i++) {
            await a.publish(id, { ...sender, event: 'n', payload: i });
        }

        const history = await a.history(id, { after: 2 });
        assert.deepEqual(seqs(history.events), [3, 4, 5]);
        assert.deepEqual(history.events.map((event) => event.payload), [3, 4, 5]);
        assert.equal(history.seq, 5);
        assert.deepEqual(seqs((await a.history(id, { after: 1, limit: 2 })).events), [2, 3]);
        assert.deepEqual((await a.history(id, { after: 5 })).events, []);
    });

    it('keeps at least historySize events and trims older ones', async () => {
        const a = makeBus({ historySize: 10 });
        const id = workspace();
        await Promise.all(range(1, 300).map((i) => a.publish(id, { ...sender, event: 'n', payload: i })));
        const { events } = await a.history(id);
        assert.ok(events.length >= 10, `kept ${events.length}`);
        assert.ok(events.length < 300, `kept ${events.length}`);
        assert.deepEqual(seqs(events), range(301 - events.length, 300));
        assert.ok(await admin.ttl(keys.log(id)) > 86_000);
    });

    it('throws EpochMismatchError carrying the current epoch when the epoch is stale', async () => {
        const a = makeBus();
        const id = workspace();
        const { epoch } = await a.publish(id, { ...sender, event: 'n', payload: 1 });
        assert.equal((await a.history(id, { epoch })).epoch, epoch);
        await assert.rejects(a.history(id, { after: 1, epoch: 'stale' }), (err: unknown) => {
            assert.ok(err instanceof EpochMismatchError);
            assert.equal(err.epoch, epoch);
            return true;
        });
    });

    it('starts a new epoch and seq when Redis loses the workspace keys', async () => {
        const a = makeBus();
        const b = makeBus();
        const id = workspace();
        const seen = collect(a, id);
        await seen.stop.ready;
        await b.publish(id, { ...sender, event: 'n', payload: 1 });
        const old = await b.publish(id, { ...sender, event: 'n', payload: 2 });
        await waitFor(() => seen.events.length === 2);

        await admin.del(keys.meta(id), keys.log(id));
        const fresh = await b.publish(id, { ...sender, event: 'n', payload: 3 });
        assert.equal(fresh.seq, 1);
        assert.notEqual(fresh.epoch, old.epoch);
        await assert.rejects(a.history(id, { after: 2, epoch: old.epoch }), { name: 'EpochMismatchError', epoch: fresh.epoch });

        await waitFor(() => seen.events.length === 3);
        assert.deepEqual(seen.events.map((event) => [event.epoch, event.seq]), [[old.epoch, 1], [old.epoch, 2], [fresh.epoch, 1]]);
    });

    it('keeps the epoch it reported for an empty workspace once events start', async () => {
        const a = makeBus();
        const id = workspace();
        const empty = await a.history(id);
        assert.deepEqual(empty.events, []);
        assert.equal(empty.seq, 0);
        const first = await a.publish(id, { ...sender, event: 'n', payload: 1 });
        assert.equal(first.epoch, empty.epoch);
        assert.equal(first.seq, 1);
    });
});

describe('replayThenLive()', () => {
    it('replays history then live events with no gap and no duplicate while others publish', async () => {
        const a = makeBus();
        const b = makeBus();
        const id = workspace();
        for (let i = 1; i <= 50; i++) {
            await b.publish(id, { ...sender, event: 'n', payload: i });
        }

        const publishing = Promise.all(range(51, 150).map(async (i) => {
            await new Promise((resolve) => setTimeout(resolve, i % 20));
            return (i % 2 ? a : b).publish(id, { ...sender, event: 'n', payload: i });
        }));
        const seen: EventEnvelope[] = [];
        await new Promise((resolve) => setTimeout(resolve, 5));
        const subscription = await a.replayThenLive(id, { after: 10 }, (envelope) => seen.push(envelope));
        await publishing;
        await waitFor(() => seen.length >= 140);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(seqs(seen), range(11, 150));
        assert.equal(subscription.recovered, true);
        assert.equal(subscription.epoch, seen[0]!.epoch);
        subscription.unsubscribe();
    });

    it('throws EpochMismatchError for a stale epoch and leaves no subscription behind', async () => {
        const a = makeBus();
        const id = workspace();
        await a.publish(id, { ...sender, event: 'n', payload: 1 });
        await assert.rejects(a.replayThenLive(id, { after: 1, epoch: 'stale' }, () => {}), { name: 'EpochMismatchError' });
        await waitFor(async () => !(await channels()).includes(keys.channel(id)));
    });

    it('reports recovered: false when events after `after` were trimmed', async () => {
        const a = makeBus({ historySize: 5 });
        const id = workspace();
        for (let i = 1; i <= 250; i++) {
            await a.publish(id, { ...sender, event: 'n', payload: i });
        }

        const seen: EventEnvelope[] = [];
        const subscription = await a.replayThenLive(id, { after: 3 }, (envelope) => seen.push(envelope));
        assert.equal(subscription.recovered, false);
        assert.equal(seen.at(-1)!.seq, 250);
        subscription.unsubscribe();
    });
});

describe('publishEphemeral()', () => {
    it('fans out to every instance without seq and stores nothing', async () => {
        const a = makeBus();
        const b = makeBus();
        const id = workspace();
        const onA = collect(a, id);
        const onB = collect(b, id);
        await Promise.all([onA.stop.ready, onB.stop.ready]);

        const envelope = await a.publishEphemeral(id, { ...sender, event: 'presence.join', payload: { connections: 1 } });
        assert.equal(envelope.seq, undefined);
        await waitFor(() => onB.events.length === 1);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(onA.events.length, 1);
        assert.deepEqual(onB.events[0], envelope);
        assert.equal('seq' in onB.events[0]!, false);
        assert.deepEqual((await a.history(id)).events, []);
    });
});

describe('control channel', () => {
    it('delivers a control message to every instance, the sender included', async () => {
        const a = makeBus();
        const b = makeBus();
        await Promise.all([a.ready(), b.ready()]);
        const got: [string, unknown, string][] = [];
        a.onControl((message, origin) => got.push(['a', message, origin]));
        const stop = b.onControl((message, origin) => got.push(['b', message, origin]));
        await a.publishControl({ type: 'revoke', user_id: 7, workspace: 3 });
        await waitFor(() => got.length === 2);
        assert.deepEqual(got.sort(), [
            ['a', { type: 'revoke', user_id: 7, workspace: 3 }, a.instanceId],
            ['b', { type: 'revoke', user_id: 7, workspace: 3 }, a.instanceId]
        ]);

        stop();
        await b.publishControl({ type: 'again' });
        await waitFor(() => got.length === 3);
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(got.length, 3);
    });
});

describe('close()', () => {
    it('unsubscribes every channel and leaves the connections open', async () => {
        const redis = connect();
        const subscriber = connect();
        const bus = new EventBus({ redis, subscriber, prefix, instanceId: `test-${randomUUID()}` });
        await bus.ready();
        const id = workspace();
        await bus.subscribe(id, () => {}).ready;
        await bus.close();
        assert.ok(!(await channels()).includes(keys.channel(id)));
        assert.equal(await subscribers(keys.control), buses.length);
        assert.equal(await redis.ping(), 'PONG');
        assert.equal(subscriber.status, 'ready');
    });
});

describe('Topic (ordering core)', () => {
    function event(epoch: string, seq: number): Delivery {
        const envelope: EventEnvelope = { event: 'n', payload: seq, ...sender, workspace: 1, seq, epoch, ts: '2026-01-01T00:00:00.000Z' };
        return { envelope, json: JSON.stringify(envelope) };
    }

    function deferredReads(): { topic: Topic; seen: number[]; reads: { after: number; answer: (read: StreamRead) => void }[] } {
        const reads: { after: number; answer: (read: StreamRead) => void }[] = [];
        const topic = new Topic({
            read: (after) => new Promise((answer) => reads.push({ after, answer })),
            gapTimeoutMs: 10_000,
            onError: (err) => assert.fail(err)
        });
        const seen: number[] = [];
        topic.listeners.add((envelope) => seen.push(envelope.seq!));
        return { topic, seen, reads };
    }

    it('ignores a stale "no epoch yet" read answered after the first events arrived (regression)', async () => {
        const { topic, seen, reads } = deferredReads();
        topic.start(undefined, 0);
        topic.resync();
        topic.accept(event('e1', 2));
        reads[0]!.answer({ epoch: undefined, seq: 0, events: [] });
        await new Promise((resolve) => setImmediate(resolve));
        topic.accept(event('e1', 1));
        topic.accept(event('e1', 3));
        assert.deepEqual(seen, [1, 2, 3]);
        topic.close();
    });

    it('skips seqs the stream no longer holds, up to the head it reported', async () => {
        const { topic, seen, reads } = deferredReads();
        topic.start('e1', 1);
        topic.accept(event('e1', 2));
        topic.accept(event('e1', 6));
        topic.resync();
        assert.equal(reads[0]!.after, 2);
        reads[0]!.answer({ epoch: 'e1', seq: 6, events: [event('e1', 5), event('e1', 6)] });
        await new Promise((resolve) => setImmediate(resolve));
        topic.accept(event('e1', 7));
        assert.deepEqual(seen, [2, 5, 6, 7]);
        topic.close();
    });

    it('follows a new epoch from seq 1 and ignores late events of the old one', () => {
        const { topic, seen } = deferredReads();
        topic.start('e1', 4);
        topic.accept(event('e1', 5));
        topic.accept(event('e2', 1));
        topic.accept(event('e1', 6));
        topic.accept(event('e2', 2));
        assert.deepEqual(seen, [5, 1, 2]);
        topic.close();
    });
});
