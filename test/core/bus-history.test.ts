import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import type { EventEnvelope } from '@collab/sdk';

import { EpochMismatchError, ReplayStoppedError, type EventBus } from '../../packages/core/src/bus/index.js';
import { readScript } from '../../packages/core/src/bus/scripts.js';
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

describe('replayThenLive() in pages', () => {
    /** Counts the paged stream reads a bus makes (the read script with a COUNT, one XRANGE each) and the events they return. */
    function countReads(bus: EventBus) {
        const counts = { reads: 0, events: 0 };
        const redis = bus.redis as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> };
        const evalsha = redis.evalsha.bind(redis);
        redis.evalsha = async (...args: unknown[]) => {
            const reply = await evalsha(...args);
            if (args[0] === readScript.sha && Number(args.at(-1)) > 0) {
                counts.reads++;
                counts.events += (reply as [unknown, unknown, unknown[]])[2].length;
            }

            return reply;
        };
        return counts;
    }

    it('reads a history longer than a page one page at a time, each delivered before the next is read', async () => {
        const a = makeBus();
        const id = workspace();
        for (let i = 1; i <= 250; i++) {
            await a.publish(id, { ...sender, event: 'n', payload: i });
        }

        const counts = countReads(a);
        const seen: EventEnvelope[] = [];
        let ahead = 0;
        const subscription = await a.replayThenLive(id, { after: 5 }, (envelope) => {
            seen.push(envelope);
            ahead = Math.max(ahead, counts.events - seen.length);
        }, { pageSize: 20 });
        assert.deepEqual(seqs(seen), range(6, 250));
        assert.equal(counts.reads, 13, '245 events in pages of 20');
        assert.ok(ahead < 20, `read ${ahead} events ahead of delivery`);
        assert.equal(subscription.recovered, true);
        subscription.unsubscribe();
    });

    it('delivers live events published during a multi-page replay once, in order, with no gap', async () => {
        const a = makeBus();
        const b = makeBus();
        const id = workspace();
        for (let i = 1; i <= 200; i++) {
            await b.publish(id, { ...sender, event: 'n', payload: i });
        }

        const publishes: Array<Promise<unknown>> = [];
        let next = 201;
        const seen: EventEnvelope[] = [];
        let pages = 0;
        const subscription = await a.replayThenLive(id, { after: 0 }, (envelope) => seen.push(envelope), {
            pageSize: 20,
            proceed: () => {
                if (pages++ < 8) {
                    for (let i = 0; i < 3; i++) {
                        publishes.push((next % 2 ? a : b).publish(id, { ...sender, event: 'n', payload: next++ }));
                    }
                }

                return true;
            }
        });
        await Promise.all(publishes);
        await waitFor(() => seen.length >= 224);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.deepEqual(seqs(seen), range(1, 224));
        assert.ok(pages >= 9, `${pages} pages`);
        subscription.unsubscribe();
    });

    for (const late of [5, 45]) {
        it(`delivers ${late} events that land after the last page was read and before it arrives${late > 20 ? ' (more than a page: read from the stream)' : ''}`, async () => {
            const a = makeBus();
            const b = makeBus();
            const id = workspace();
            for (let i = 1; i <= 50; i++) {
                await b.publish(id, { ...sender, event: 'n', payload: i });
            }

            // Once a page comes back short, b publishes `late` events and they reach a's live listeners before the page is handed over.
            const watcher = collect(a, id);
            await watcher.stop.ready;
            const redis = a.redis as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> };
            const evalsha = redis.evalsha.bind(redis);
            let injected = false;
            redis.evalsha = async (...args: unknown[]) => {
                const reply = await evalsha(...args);
                const page = args[0] === readScript.sha && Number(args.at(-1)) > 0 ? (reply as [unknown, unknown, unknown[]])[2] : undefined;
                if (page && page.length < Number(args.at(-1)) && !injected) {
                    injected = true;
                    for (let i = 1; i <= late; i++) {
                        await b.publish(id, { ...sender, event: 'n', payload: 50 + i });
                    }

                    await waitFor(() => watcher.events.length === late);
                }

                return reply;
            };

            const seen: EventEnvelope[] = [];
            const subscription = await a.replayThenLive(id, { after: 0 }, (envelope) => seen.push(envelope), { pageSize: 20 });
            assert.ok(injected);
            await new Promise((resolve) => setTimeout(resolve, 100));
            assert.deepEqual(seqs(seen), range(1, 50 + late));
            subscription.unsubscribe();
            watcher.stop();
        });
    }

    it('stops when proceed() says no, rejects with ReplayStoppedError and leaves no subscription behind', async () => {
        const a = makeBus();
        const id = workspace();
        for (let i = 1; i <= 60; i++) {
            await a.publish(id, { ...sender, event: 'n', payload: i });
        }

        const counts = countReads(a);
        const seen: EventEnvelope[] = [];
        await assert.rejects(a.replayThenLive(id, { after: 0 }, (envelope) => seen.push(envelope), { pageSize: 20, proceed: () => seen.length < 40 }), ReplayStoppedError);
        assert.deepEqual(seqs(seen), range(1, 40));
        assert.equal(counts.reads, 2);
        await waitFor(async () => !(await channels()).includes(keys.channel(id)));
    });

    it('tells onStart the epoch and whether history was kept before the first event', async () => {
        const a = makeBus({ historySize: 5 });
        const id = workspace();
        for (let i = 1; i <= 250; i++) {
            await a.publish(id, { ...sender, event: 'n', payload: i });
        }

        const order: string[] = [];
        const subscription = await a.replayThenLive(id, { after: 3 }, () => order.push('event'), {
            pageSize: 4,
            onStart: (epoch, recovered) => order.push(`start ${typeof epoch} ${recovered}`)
        });
        assert.equal(order[0], 'start string false');
        assert.ok(order.length > 1 && order.slice(1).every((entry) => entry === 'event'));
        subscription.unsubscribe();
    });
});
