#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.mmap_threshold=98304:glibc.malloc.trim_threshold=131072 node
// `npm start`: the API and a job worker in one process (the embedded database admits one process), migrated first.
import { ConfigError, loadConfig, migrateLatest } from '@collab/core';
import { createServer, installShutdown } from '@collab/server';
import { startEmbeddedWorker } from '@collab/worker';

let config;
try {
    config = loadConfig();
}
catch (err) {
    process.stderr.write(`collab: ${err instanceof ConfigError ? err.message : err.stack}\n`);
    process.exit(2);
}

const server = await createServer({ config });
await migrateLatest(server.app.db);
const worker = await startEmbeddedWorker({ config, db: server.app.db, logger: server.app.logger });
server.ext('onPreStop', () => worker.close());      // the worker shares the database the server closes

installShutdown(server, { timeoutMs: 10_000 });
await server.start();
server.app.logger.info({ uri: server.info.uri }, `collab is serving ${server.info.uri} (Swagger UI: ${server.info.uri}/swagger/)`);
