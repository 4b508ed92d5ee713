#!/usr/bin/env node
import { CommanderError } from 'commander';

import { EXIT, explain } from './lib/errors.js';
import { buildProgram } from './lib/program.js';

try {
    await buildProgram().parseAsync(process.argv);
}
catch (err) {
    if (err instanceof CommanderError) {
        // commander has printed its message already
        process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    else {
        const { message, exitCode } = explain(err, { server: '', action: 'run the command', credentials: 'none' });
        process.stderr.write(`${message}\n`);
        process.exitCode = exitCode;
    }
}
