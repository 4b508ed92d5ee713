import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { exceedsJsonDepth, MAX_JSON_DEPTH } from '@collab/protocol';

function nested(levels: number, wrap: (inner: unknown) => unknown): unknown {
    let value: unknown = 'leaf';
    for (let i = 0; i < levels; i++) {
        value = wrap(value);
    }

    return value;
}

describe('exceedsJsonDepth()', () => {
    it('accepts values nested up to the limit, in arrays and objects', () => {
        assert.equal(exceedsJsonDepth(nested(MAX_JSON_DEPTH, (inner) => [inner])), false);
        assert.equal(exceedsJsonDepth(nested(MAX_JSON_DEPTH, (inner) => ({ a: inner }))), false);
        assert.equal(exceedsJsonDepth({ a: 1, b: [1, 2, { c: null }] }), false);
        assert.equal(exceedsJsonDepth('text'), false);
        assert.equal(exceedsJsonDepth(null), false);
    });

    it('refuses one level more, wherever the deep branch is', () => {
        assert.equal(exceedsJsonDepth(nested(MAX_JSON_DEPTH + 1, (inner) => [inner])), true);
        assert.equal(exceedsJsonDepth({ shallow: 1, list: [0, 0, nested(MAX_JSON_DEPTH, (inner) => ({ x: inner }))] }), true);
    });

    it('walks a hostile depth and a wide array without overflowing the stack', () => {
        assert.equal(exceedsJsonDepth(nested(200_000, (inner) => ({ a: inner }))), true);
        assert.equal(exceedsJsonDepth(new Array(500_000).fill([1])), false);
    });
});
