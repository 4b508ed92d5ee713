import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import Boom from '@hapi/boom';
import type { Plugin, ResponseToolkit } from '@hapi/hapi';

/** Where `npm run build` writes the console (scripts/build-console.js), from src/ and dist/ alike. */
const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/** Names of the console's built files: content-hashed, so a name's bytes never change. */
const ASSET_NAME = /^[A-Za-z0-9_-]+\.(?:js|css)$/;

/** What the build puts in `index.html` where each response's nonce goes. */
const NONCE_PLACEHOLDER = '__CSP_NONCE__';

/** `Cache-Control` of the hashed files: a year, never revalidated. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * What the page may load: its own scripts only (no inline script, no eval), its own style sheet
 * and the editor's style elements, which carry this response's nonce. Inline style attributes
 * are allowed because the editor colours other people's cursors with them.
 */
export function consoleCsp(nonce: string): string {
    return [
        "default-src 'self'",
        "script-src 'self'",
        `style-src 'self' 'nonce-${nonce}'`,
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'"
    ].join('; ');
}

/** `index.html` as built, read again whenever a build replaces it. */
class ConsolePage {
    #html?: string;
    #mtimeMs = 0;

    /** The page with `nonce` in place; undefined when the console is not built. */
    render(nonce: string): string | undefined {
        let mtimeMs: number;
        try {
            mtimeMs = statSync(`${CONSOLE_DIR}index.html`).mtimeMs;
        }
        catch {
            return undefined;
        }

        if (this.#html === undefined || mtimeMs !== this.#mtimeMs) {
            this.#html = readFileSync(`${CONSOLE_DIR}index.html`, 'utf8');
            this.#mtimeMs = mtimeMs;
        }

        return this.#html.replaceAll(NONCE_PLACEHOLDER, nonce);
    }
}

/**
 * The web console at `/`: `index.html` (revalidated on every load, sent with its
 * Content-Security-Policy and a fresh nonce) and its hashed scripts and styles under
 * `/assets/` (cached for good, sent gzipped to clients that accept it, precompressed at build
 * time). The console's routes are exactly these two, so `/api`, `/ws`, `/yjs`, `/swagger`,
 * `/healthz`, `/readyz` and `/metrics` stay as they are. Without a build, `/` says how to make one.
 */
export const consolePlugin: Plugin<void> = {
    name: 'collab-console',
    version: '1.0.0',
    dependencies: ['@hapi/inert'],
    register: (server) => {
        const page = new ConsolePage();
        const common = { auth: false as const, tags: ['console'] };
        server.route([
            {
                method: 'GET',
                path: '/',
                options: { ...common, description: 'The web console' },
                handler: (_request, h) => index(h, page)
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

function index(h: ResponseToolkit, page: ConsolePage) {
    const nonce = randomBytes(16).toString('base64');
    const html = page.render(nonce);
    if (html === undefined) {
        return h.response('The web console is not built: run `npm run build`, then reload.\n').type('text/plain; charset=utf-8').code(503).header('cache-control', 'no-store');
    }

    return h.response(html)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', consoleCsp(nonce))
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer');
}
