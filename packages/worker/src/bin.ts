#!/usr/bin/env node
import { ConfigError, loadConfig } from '@collab/core';

import { SandboxStartError } from './sandbox/index.js';
import { startWorker } from './worker.js';

const USAGE = `Usage: collab-worker

Runs sandboxed code-execution jobs from the queue until SIGTERM or SIGINT.
Configuration comes from the environment: REDIS_URL, REDIS_PREFIX, DATABASE_URL,
COLLAB_SANDBOX, LOG_LEVEL, WORKER_CONCURRENCY (default: twice the CPU count),
WORKER_GRACE_MS (default 30000: how long running jobs may finish on SIGTERM).`;

async function main(argv: string[]): Promise<void> {
    if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(`${USAGE}\n`);
        return;
    }
    const config = loadConfig();
    if (!config.databaseUrl) {
        // The embedded database lives in one process: `npm start` runs its worker itself.
        throw new ConfigError('Invalid configuration: DATABASE_URL is required (the embedded database is only usable by npm start)');
    }
    const worker = await startWorker({ config });
    let stopping = false;
    const stop = (signal: string) => {
        if (stopping) {
            return;
        }
        stopping = true;
        process.stderr.write(`collab-worker: ${signal}, draining\n`);
        worker.close()
            .then(() => process.exit(0))
            .catch((error: Error) => {
                process.stderr.write(`collab-worker: shutdown failed: ${error.message}\n`);
                process.exit(1);
            });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((error: Error) => {
    const known = error instanceof ConfigError || error instanceof SandboxStartError;
    process.stderr.write(`collab-worker: ${known ? error.message : `failed: ${error.message}`}\n`);
    process.exit(known ? 2 : 1);
});
