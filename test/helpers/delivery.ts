import assert from 'node:assert/strict';

/** What a subscriber received of a workspace's events: their epoch and seq. */
export interface Sequenced {
    epoch?: string;
    seq?: number;
}

/**
 * What a subscriber received is trustworthy: epochs never come back, and
 * within an epoch the seqs go up one at a time (nothing skipped silently).
 */
export function assertNothingSkipped(frames: readonly Sequenced[], who: string): void {
    const epochs: string[] = [];
    let last: Sequenced | undefined;
    for (const frame of frames) {
        if (!last || frame.epoch !== last.epoch) {
            assert.ok(!epochs.includes(frame.epoch!), `${who}: epoch ${frame.epoch} came back`);
            epochs.push(frame.epoch!);
        }
        else {
            assert.equal(frame.seq, last.seq! + 1, `${who}: seq ${last.seq} then ${frame.seq} in epoch ${frame.epoch}`);
        }

        last = frame;
    }
}
