import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { LISTEN_BACKLOG } from '../../packages/server/src/listener.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The accept queue a listening socket got, as the kernel reports it (`ss`: Send-Q of a listener). */
function backlogOf(port: number): number {
    const line = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).trim().split('\n')[0] ?? '';
    return Number(line.split(/\s+/)[2]);
}

describe('the server\'s listener', () => {
    let t: TestServer;
    before(async () => {
        t = await startTestServer({ listen: true });
    });
    after(() => t.stop());

    it('listens with an accept queue of 4,096 (as far as net.core.somaxconn allows), not node\'s 511', async () => {
        const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
        const { port } = t.server.listener.address() as AddressInfo;
        assert.equal(backlogOf(port), Math.min(LISTEN_BACKLOG, somaxconn));
        assert.ok(somaxconn <= 511 || backlogOf(port) > 511);
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(res.status, 200);
    });
});
