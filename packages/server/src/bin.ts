#!/usr/bin/env node
import { parseArgs } from 'node:util';

import { ConfigError, loadConfig } from '@collab/core';

import { createAdmin } from './commands/create-admin.js';
import { migrate } from './commands/migrate.js';
import { start } from './commands/start.js';

const USAGE = `Usage: collab-server <command>

Commands:
  start                         serve the API (migrates the embedded database first; --migrate for PostgreSQL too)
  migrate                       apply pending database migrations
  create-admin --email E [--name N]
                                create an admin (password from a prompt, or one line on stdin); promotes an existing user

Configuration comes from the environment (HOST, PORT, DATABASE_URL, REDIS_URL, JWT_SECRET, …).`;

async function main(argv: string[]): Promise<void> {
    const { positionals, values } = parseArgs({
        args: argv,
        allowPositionals: true,
        options: { email: { type: 'string' }, name: { type: 'string' }, migrate: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }
    });
    const [command] = positionals;
    if (values.help || !command) {
        process.stdout.write(USAGE + '\n');
        return;
    }

    const config = loadConfig();
    switch (command) {
        case 'start': return start(config, { migrate: values.migrate });
        case 'migrate': return migrate(config);
        case 'create-admin': return createAdmin(config, values);
        default: throw new UsageError(`Unknown command "${command}". Run collab-server --help.`);
    }
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((err: Error) => {
    const known = err instanceof ConfigError || err instanceof UsageError || err.name === 'ValidationError' || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`collab-server: ${known ? err.message : `failed: ${err.message}`}\n`);
    process.exit(known ? 2 : 1);
});
