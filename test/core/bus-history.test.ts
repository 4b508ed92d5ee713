import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import type { EventEnvelope } from '@collab/sdk';

import { EpochMismatchError } from '../../packages/core/src/bus/index.js';
import { busFixture, range, sender, seqs, waitFor } from '../helpers/bus.js';

const fixture = busFixture();
const { keys, admin, makeBus, workspace, collect, channels } = fixture;
after(() => fixture.close());

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
