import { migrateLatest, type Config } from '@collab/core';

import { createServer } from '../server.js';
import { installShutdown } from '../shutdown.js';

/** `collab-server start`: serves the API; the embedded database is migrated first. */
export async function start(config: Config, options: { migrate?: boolean } = {}): Promise<void> {
    const server = await createServer({ config });
    if (options.migrate ?? !config.databaseUrl) {
        await migrateLatest(server.app.db);
    }

    installShutdown(server, { timeoutMs: 10_000 });
    await server.start();
    server.app.logger.info({ uri: server.info.uri, instance: server.app.instanceId }, 'collab server listening');
}
