import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import Boom from '@hapi/boom';
import type { Plugin, ResponseToolkit } from '@hapi/hapi';

/** Where `npm run build` writes the console (scripts/build-console.js), from src/ and dist/ alike. */
const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/** Names of the console's built files: content-hashed, so a name's bytes never change. */
const ASSET_NAME = /^[A-Za-z0-9_-]+\.(?:js|css)$/;

/**
 * What the page may load: its own scripts and styles only (no inline script, no eval). Inline
 * style attributes are allowed because the editor colours other people's cursors with them;
 * the editor's own styles are constructed stylesheets, which CSP does not govern.
 */
export const CONSOLE_CSP = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'"
].join('; ');

/** `Cache-Control` of the hashed files: a year, never revalidated. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The web console at `/`: `index.html` (revalidated on every load, sent with its
 * Content-Security-Policy) and its hashed scripts and styles under `/assets/` (cached for
 * good), each sent gzipped to clients that accept it (precompressed at build time). The
 * console routes are exactly these two, so `/api`, `/ws`, `/yjs`, `/swagger`, `/healthz`,
 * `/readyz` and `/metrics` stay as they are. Without a build, `/` says how to make one.
 */
export const consolePlugin: Plugin<void> = {
    name: 'collab-console',
    version: '1.0.0',
    dependencies: ['@hapi/inert'],
    register: (server) => {
        const common = { auth: false as const, tags: ['console'] };
        server.route([
            {
                method: 'GET',
                path: '/',
                options: { ...common, description: 'The web console' },
                handler: (_request, h) => page(h)
            },
            {
                method: 'GET',
                path: '/assets/{name}',
                options: { ...common, description: 'A script or style of the web console' },
                handler: (request, h) => {
                    const { name } = request.params as { name: string };
                    if (!ASSET_NAME.test(name)) {
                        throw Boom.notFound();
                    }

                    return h.file(`assets/${name}`, { confine: CONSOLE_DIR, lookupCompressed: true, etagMethod: false }).header('cache-control', IMMUTABLE);
                }
            }
        ]);
    }
};

function page(h: ResponseToolkit) {
    if (!existsSync(`${CONSOLE_DIR}index.html`)) {
        return h.response('The web console is not built: run `npm run build`, then reload.\n').type('text/plain; charset=utf-8').code(503).header('cache-control', 'no-store');
    }

    return h.file('index.html', { confine: CONSOLE_DIR, lookupCompressed: true })
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', CONSOLE_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer');
}
