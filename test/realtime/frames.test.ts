import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import * as ws from 'ws';

import { framedBinary } from '../../packages/server/src/realtime/frames.js';

interface FrameReceiver extends NodeJS.EventEmitter {
    write(chunk: Buffer, done: () => void): void;
}

// ws exports its frame parser, though its types do not declare it.
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean }) => FrameReceiver };

/** What a WebSocket client reads from `bytes`: the messages, as `ws`'s own frame parser gives them. */
function received(bytes: Buffer): Promise<Buffer[]> {
    const receiver = new Receiver({ isServer: false });
    const messages: Buffer[] = [];
    return new Promise((resolve, reject) => {
        receiver.on('message', (data: Buffer, binary: boolean) => {
            assert.equal(binary, true);
            messages.push(data);
        });
        receiver.on('error', reject);
        receiver.write(bytes, () => resolve(messages));
    });
}

describe('a binary message framed once for every socket', () => {
    it('is read back whole by a WebSocket client at every length encoding (7-bit, 16-bit, 64-bit)', async () => {
        for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]) {
            const message = new Uint8Array(randomBytes(length));
            assert.deepEqual(await received(framedBinary(message)), [Buffer.from(message)], `length ${length}`);
        }
    });

    it('is built once per message and reused for the next socket', () => {
        const message = Uint8Array.of(0, 2, 1, 7);
        assert.equal(framedBinary(message), framedBinary(message));
        assert.notEqual(framedBinary(Uint8Array.of(0, 2, 1, 7)), framedBinary(message));
    });
});
