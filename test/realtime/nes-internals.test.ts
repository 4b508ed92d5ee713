import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

import Hapi from '@hapi/hapi';
import NesModule from '@hapi/nes';

import { NES_VERSION, takeNes } from '../../packages/server/src/realtime/nes-internals.js';

const require = createRequire(import.meta.url);
const Socket = createRequire(require.resolve('@hapi/nes'))('./socket.js') as { prototype: Record<string, unknown> };

async function nesServer(): Promise<Hapi.Server> {
    const server = Hapi.server({ port: 0 });
    await server.register({ plugin: NesModule.plugin, options: { auth: false } });
    return server;
}

describe('nes internals', () => {
    it('are those of the pinned version, and hand over nes\'s ws server and its one upgrade listener', async () => {
        assert.equal((require('@hapi/nes/package.json') as { version: string }).version, NES_VERSION);
        const server = await nesServer();
        assert.equal(server.listener.listenerCount('upgrade'), 1);
        const nes = takeNes(server, () => undefined);
        assert.equal(typeof nes.wss.handleUpgrade, 'function');
        assert.equal(nes.upgrades.length, 1);
        assert.equal(server.listener.listenerCount('upgrade'), 0);
    });

    for (const name of ['_onMessage', '_lifecycle', '_processHello', '_setCredentials']) {
        it(`stop the server at start-up with a clear error when Socket.prototype.${name} is missing`, async () => {
            const server = await nesServer();
            const saved = Socket.prototype[name];
            delete Socket.prototype[name];
            try {
                assert.throws(() => takeNes(server, () => undefined), new RegExp(`@hapi/nes ${NES_VERSION} internals changed: Socket.prototype.${name}`));
            }
            finally {
                Socket.prototype[name] = saved;
            }
        });
    }

    it('stop the server at start-up with a clear error when nes\'s listener is not where it was', async () => {
        const server = await nesServer();
        const plugins = server.plugins as unknown as { nes: { _listener: unknown } };
        const listener = plugins.nes._listener;
        plugins.nes._listener = {};
        try {
            assert.throws(() => takeNes(server, () => undefined), /internals changed: server\.plugins\.nes\._listener\._wss/);
        }
        finally {
            plugins.nes._listener = listener;
        }
    });
});
