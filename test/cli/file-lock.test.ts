import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const HOLDER = fileURLToPath(new URL('./fixtures/lock-holder.ts', import.meta.url));

function holder(lock: string, inside: string): Promise<number | null> {
    const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, lock, '6', inside, '3'], { stdio: 'inherit' });
    return new Promise((resolve) => child.once('exit', resolve));
}

describe('the CLI\'s lock file (one collab process refreshes the saved login at a time)', () => {
    it('is held by one process at a time while holders die in it and others take it over', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'collab-lock-'));
        try {
            const lock = join(dir, 'credentials.lock');
            const inside = join(dir, 'inside');
            // Eight contenders at a time, each leaving the lock to a dead pid every third round.
            const codes: Array<number | null> = [];
            for (let wave = 0; wave < 3; wave++) {
                codes.push(...await Promise.all(Array.from({ length: 8 }, () => holder(lock, inside))));
            }

            assert.deepEqual(codes.filter((code) => code !== 0), [], 'a process found the lock held by another (exit 3)');
            assert.deepEqual(readdirSync(dir).filter((name) => name !== 'credentials.lock'), []);
        }
        finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
