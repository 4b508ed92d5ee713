import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as encoding from 'lib0/encoding';

import { awarenessMessage, decodeRelay, encodeRelay, relayedUpdate, syncMessage } from '../../packages/server/src/docs/messages.js';

/** What lib0's encoder writes for the varuints `head` followed by `payload` as a VarUint8Array. */
function lib0(head: number[], payload: Uint8Array): Uint8Array {
    const encoder = encoding.createEncoder();
    for (const n of head) {
        encoding.writeVarUint(encoder, n);
    }

    encoding.writeVarUint8Array(encoder, payload);
    return encoding.toUint8Array(encoder);
}

const large = Uint8Array.from({ length: 150_000 }, (_, i) => i % 251);

describe('document messages carrying a large payload', () => {
    it('are encoded exactly as a lib0 encoder writes them', () => {
        for (const payload of [new Uint8Array(0), Uint8Array.of(7), large]) {
            assert.deepEqual(syncMessage(2, payload), lib0([0, 2], payload));
            assert.deepEqual(awarenessMessage(payload), lib0([1], payload));
        }
    });

    it('carry an update between instances, its bytes at the end of the message', () => {
        const editor = { id: 42, email: 'ann@example.com' };
        const message = encodeRelay({ type: 'update', from: 'instance-a', editor, update: large });
        assert.deepEqual(decodeRelay(message), { type: 'update', from: 'instance-a', editor, update: large });

        const update = relayedUpdate(message, large);
        assert.equal(update.buffer, message.buffer, 'a view into the message, not a copy');
        assert.deepEqual(update, large);
    });

    it('decode the other kinds as encoded', () => {
        const messages = [
            { type: 'awareness', from: 'b', update: large },
            { type: 'query', from: 'b', stateVector: Uint8Array.of(1, 2, 3), ask: true },
            { type: 'deleted', from: 'b' }
        ] as const;
        for (const message of messages) {
            assert.deepEqual(decodeRelay(encodeRelay(message)), message);
        }
    });
});
