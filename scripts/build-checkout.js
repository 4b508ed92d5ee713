// Builds a source checkout the first time one of its programs runs: npm links `collab`, `collab-server` and
// `collab-worker` at install time, before anything is built, so each bin is a committed launcher that lands here
// when its `dist` is missing. Never reached from a published package, which ships `dist`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs `tsc -b` over the checkout, then builds the web console (output to stderr, so a program's stdout stays
 * clean); exits when the TypeScript build fails. Without its console the server still runs (`/` says to build).
 */
export function buildCheckout(entry) {
    let tsc;
    try {
        tsc = createRequire(`${root}/package.json`).resolve('typescript/bin/tsc');
    }
    catch {
        process.stderr.write(`collab: ${fileURLToPath(entry)} is missing and TypeScript is not installed: run \`npm ci\` in ${root}\n`);
        process.exit(1);
    }

    process.stderr.write('collab: building this checkout (first run only)…\n');
    const built = spawnSync(process.execPath, [tsc, '-b', root], { stdio: ['ignore', 2, 2] });
    if (built.status !== 0 || !existsSync(entry)) {
        process.stderr.write(`collab: the build failed: run \`npm run build\` in ${root} to see why\n`);
        process.exit(1);
    }

    const web = spawnSync(process.execPath, [fileURLToPath(new URL('build-console.js', import.meta.url))], { stdio: ['ignore', 2, 2] });
    if (web.status !== 0) {
        process.stderr.write(`collab: the web console was not built: run \`npm run build\` in ${root} to see why\n`);
    }
}
