import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = fileURLToPath(new URL('../../packages/sdk/', import.meta.url));
const sources = (readdirSync(join(root, 'src'), { recursive: true }) as string[]).filter((file) => file.endsWith('.ts'));

describe('the @collab/sdk package', () => {
    it('uses no Node built-in, so that it runs in browsers', () => {
        const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
        for (const file of sources) {
            const text = readFileSync(join(root, 'src', file), 'utf8');
            for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
                assert.ok(!builtins.has(specifier!), `${file} imports ${specifier}`);
                assert.ok(specifier!.startsWith('.') || specifier === '@hapi/nes' || specifier!.startsWith('@hapi/nes/'), `${file} imports ${specifier}`);
            }

            assert.doesNotMatch(text, /\b(process|Buffer|require|__dirname)\b[.(]/, file);
        }
    });

    it('is ESM with type declarations, shipping only dist', () => {
        const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
        assert.equal(pkg.type, 'module');
        assert.deepEqual(pkg.files, ['dist']);
        assert.deepEqual((pkg.exports as Record<string, unknown>)['.'], { source: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' });
        assert.deepEqual(Object.keys(pkg.dependencies as object), ['@hapi/nes']);
    });
});
