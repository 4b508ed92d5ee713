#!/usr/bin/env node
// Runs the test files under test/ (or under the paths given): node --test does not expand globs on Node 20.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const walk = (path) => statSync(path).isDirectory()
    ? readdirSync(path).sort().flatMap((name) => (name === 'fixtures' || name === 'helpers' ? [] : walk(join(path, name))))
    : [path];

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['test']).flatMap(walk).filter((file) => file.endsWith('.test.ts'));
const child = spawn(process.execPath, [
    '--conditions=source',
    '--import', 'tsx',
    '--test',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 3}`,
    '--test-timeout=180000',
    ...files
], { stdio: 'inherit' });

child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
