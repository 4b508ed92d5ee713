import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { EventEnvelope } from '@collab/sdk';

import { Topic, type Delivery, type StreamRead } from '../../packages/core/src/bus/topic.js';
import { sender } from '../helpers/bus.js';

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
