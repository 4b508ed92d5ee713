import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, reconnectDelay } from '@collab/sdk';

import { needsRefresh, refreshMargin, tokenTimes } from '../../packages/sdk/src/realtime/token.js';

const jwt = (claims: object) => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.signature`;

describe('the reconnect policy', () => {
    it('backs off exponentially from 250 ms to 10 s with full jitter', () => {
        assert.deepEqual([0, 1, 2, 5, 6, 30].map((attempt) => reconnectDelay(attempt, () => 1)), [250, 500, 1000, 8000, 10_000, 10_000]);
        assert.equal(reconnectDelay(3, () => 0), 0);
        assert.equal(reconnectDelay(3, () => 0.5), 1000);
        assert.deepEqual([BACKOFF_BASE_MS, BACKOFF_CAP_MS], [250, 10_000]);
        for (let i = 0; i < 100; ++i) {
            const delay = reconnectDelay(i % 12);
            assert.ok(delay >= 0 && delay <= BACKOFF_CAP_MS);
        }
    });
});

describe('access token expiry', () => {
    it('reads iat and exp of a JWT without verifying it, and nothing from other tokens', () => {
        assert.deepEqual(tokenTimes(jwt({ sub: '1', iat: 1000, exp: 1900 })), { issuedAt: 1_000_000, expiresAt: 1_900_000 });
        assert.equal(tokenTimes('opaque-token'), undefined);
        assert.equal(tokenTimes('a.%%%.c'), undefined);
        assert.equal(tokenTimes(jwt({ sub: '1' })), undefined);
        assert.equal(tokenTimes(undefined), undefined);
    });

    it('renews a third of the lifetime before expiry, at least 1 s and at most 60 s before', () => {
        assert.equal(refreshMargin({ issuedAt: 0, expiresAt: 2_000 }), 1_000);
        assert.equal(refreshMargin({ issuedAt: 0, expiresAt: 90_000 }), 30_000);
        assert.equal(refreshMargin({ issuedAt: 0, expiresAt: 900_000 }), 60_000);
        const now = Date.now();
        const token = jwt({ iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 900 });
        assert.equal(needsRefresh(token, now), false);
        assert.equal(needsRefresh(token, now + 841_000), true);
        assert.equal(needsRefresh('opaque-token', now), false);
    });
});
