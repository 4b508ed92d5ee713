#!/usr/bin/env node
// Builds the web console (packages/console) into packages/server/dist/console: an index.html and content-hashed
// scripts and styles under assets/, each beside its gzip, so collab-server can serve them with long-lived caching.
// The server puts each response's Content-Security-Policy nonce where index.html says __CSP_NONCE__.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync, constants } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'packages/server/dist/console');

/** Bundles and writes the console; returns the file names written under `assets/`. */
export async function buildConsole() {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
        entryPoints: [join(root, 'packages/console/src/main.ts')],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
        conditions: ['source'],
        minify: true,
        sourcemap: false,
        legalComments: 'none',
        splitting: true,
        entryNames: '[name]-[hash]',
        chunkNames: '[name]-[hash]',
        assetNames: '[name]-[hash]',
        outdir: 'assets',
        metafile: true,
        write: false,
        logLevel: 'warning'
    });

    rmSync(out, { recursive: true, force: true });
    mkdirSync(join(out, 'assets'), { recursive: true });
    const names = [];
    for (const file of result.outputFiles) {
        const name = basename(file.path);
        names.push(name);
        write(join(out, 'assets', name), file.contents);
    }

    const [entry, { cssBundle }] = Object.entries(result.metafile.outputs).find(([, output]) => output.entryPoint);
    const script = basename(entry);
    const style = basename(cssBundle);
    writeFileSync(join(out, 'index.html'), page(script, style));
    return names;
}

function write(path, contents) {
    writeFileSync(path, contents);
    writeFileSync(`${path}.gz`, gzipSync(contents, { level: constants.Z_BEST_COMPRESSION }));
}

function page(script, style) {
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<meta property="csp-nonce" nonce="__CSP_NONCE__">
<title>collab</title>
<link rel="stylesheet" href="assets/${style}">
<script type="module" src="assets/${script}"></script>
</head>
<body>
<div id="app"><noscript>The collab console needs JavaScript.</noscript></div>
</body>
</html>
`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
    const names = await buildConsole();
    process.stderr.write(`console: ${names.join(', ')} in ${out}\n`);
}
