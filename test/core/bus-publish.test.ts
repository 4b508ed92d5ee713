import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';

import { BusValidationError, EventBus } from '../../packages/core/src/bus/index.js';
import { busFixture, range, sender, seqs, waitFor } from '../helpers/bus.js';

const fixture = busFixture();
const { prefix, keys, admin, connect, makeBus, workspace, collect, channels, subscribers } = fixture;
after(() => fixture.close());

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

    it('starts a new epoch when the workspace was last written under another master (failover), so no seq is handed out twice', async () => {
        const a = makeBus();
        const b = makeBus();
        const id = workspace();
        const seen = collect(a, id);
        await seen.stop.ready;
        const first = await b.publish(id, { ...sender, event: 'one', payload: 1 });
        await b.publish(id, { ...sender, event: 'two', payload: 2 });
        await waitFor(() => seen.events.length === 2);

        // As after a failover: the keys say another master wrote them (it may have written more than survived).
        await admin.hset(keys.meta(id), 'origin', 'a-master-that-died');
        const after = await b.publish(id, { ...sender, event: 'three', payload: 3 });
        assert.notEqual(after.epoch, first.epoch);
        assert.equal(after.seq, 1);
        await waitFor(() => seen.events.length === 3);
        assert.deepEqual(seen.events.map((event) => [event.event, event.epoch === first.epoch, event.seq]), [['one', true, 1], ['two', true, 2], ['three', false, 1]]);
        await assert.rejects(a.history(id, { after: 2, epoch: first.epoch }), { name: 'EpochMismatchError' });

        // Reads notice it too: a resume from the old epoch is told, not served an empty page.
        await admin.hset(keys.meta(id), 'origin', 'another-dead-master');
        await assert.rejects(a.history(id, { after: 1, epoch: after.epoch }), { name: 'EpochMismatchError' });
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
        assert.equal(await subscribers(keys.control), fixture.instances);
        assert.equal(await redis.ping(), 'PONG');
        assert.equal(subscriber.status, 'ready');
    });
});
