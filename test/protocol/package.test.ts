import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../packages/protocol/', import.meta.url));

describe('the @collab/protocol package', () => {
    it('depends on nothing and imports only its own modules, so browsers, the SDK and the server share it', () => {
        const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
        assert.equal(pkg.dependencies, undefined);
        for (const file of readdirSync(join(root, 'src'))) {
            const text = readFileSync(join(root, 'src', file), 'utf8');
            for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
                assert.ok(specifier!.startsWith('./'), `${file} imports ${specifier}`);
            }

            assert.doesNotMatch(text, /\b(process|Buffer|require|__dirname|globalThis)\b/, file);
        }
    });

    it('is the one place the wire constants are spelled out', () => {
        const repo = fileURLToPath(new URL('../../', import.meta.url));
        const sources = ['packages/core/src', 'packages/server/src', 'packages/worker/src', 'packages/sdk/src', 'packages/console/src', 'bin/lib', 'bin/commands']
            .flatMap((dir) => (readdirSync(join(repo, dir), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => join(repo, dir, f)));
        const spelled = [
            [/'succeeded',\s*'failed',\s*'timed_out'/, 'the job statuses'],
            [/'owner',\s*'collaborator',\s*'viewer'/, 'the roles'],
            [/\b4401\s*[,}]|:\s*4403\b/, 'a close code'],
            [/\[a-z\]\[a-z0-9_\.:-\]/, 'the event name rule']
        ] as const;
        for (const file of sources) {
            const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
            for (const [pattern, what] of spelled) {
                assert.doesNotMatch(code, pattern, `${file} spells out ${what}`);
            }
        }
    });
});
