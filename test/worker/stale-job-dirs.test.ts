import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import { jobDirCreator } from '../../packages/worker/src/sandbox/job-dir.js';
import { runProgram, sweepStaleJobDirs } from '../../packages/worker/src/sandbox/index.js';

/** A pid no process has any more. */
function deadPid(): number {
    const child = spawnSync('/bin/sh', ['-c', 'echo $$'], { encoding: 'utf8' });
    return Number(child.stdout.trim());
}

describe('sweepStaleJobDirs()', () => {
    it('removes the job directories of dead workers and old untagged ones, nothing else', async () => {
        const root = await mkdtemp(path.join(os.tmpdir(), 'collab-sweep-'));
        try {
            const [namespace] = jobDirCreator().split('.');
            const old = new Date(Date.now() - 20 * 60_000);
            const dirs = {
                dead: `collab-job-${namespace}.${deadPid()}-aaaaaa`,
                mine: `collab-job-${jobDirCreator()}-bbbbbb`,
                liveOther: `collab-job-${namespace}.${process.ppid}-cccccc`,
                oldUntagged: 'collab-job-dddddd',
                newUntagged: 'collab-job-eeeeee',
                oldOtherNamespace: 'collab-job-1.2-ffffff',
                unrelated: 'other-job-1.2-gggggg'
            };
            for (const name of Object.values(dirs)) {
                await mkdir(path.join(root, name));
            }
            // what a program leaves: an unreadable nested directory and a link to a file that must survive
            const target = path.join(root, 'target.txt');
            await writeFile(target, 'keep');
            await mkdir(path.join(root, dirs.dead, 'a', 'b'), { recursive: true });
            await symlink(target, path.join(root, dirs.dead, 'a', 'link'));
            await chmod(path.join(root, dirs.dead, 'a'), 0o000);
            for (const name of [dirs.oldUntagged, dirs.oldOtherNamespace]) {
                await utimes(path.join(root, name), old, old);
            }
            await writeFile(path.join(root, `collab-job-${namespace}.${deadPid()}-file`), '');
            await symlink(path.join(root, dirs.unrelated), path.join(root, `collab-job-${namespace}.${deadPid()}-link`));

            const removed = await sweepStaleJobDirs(root);
            assert.deepEqual(removed.map((dir) => path.basename(dir)).sort(), [dirs.dead, dirs.oldOtherNamespace, dirs.oldUntagged].sort());
            const left = await readdir(root);
            for (const name of [dirs.mine, dirs.liveOther, dirs.newUntagged, dirs.unrelated, 'target.txt']) {
                assert.ok(left.includes(name), name);
            }
            assert.equal(left.filter((name) => name.endsWith('-file') || name.endsWith('-link')).length, 2);
        }
        finally {
            await rm(root, { recursive: true, force: true });
        }
    });

    it('leaves the directory of a run in progress alone', async () => {
        const root = await mkdtemp(path.join(os.tmpdir(), 'collab-sweep-'));
        await chmod(root, 0o711);
        const saved = process.env.TMPDIR;
        process.env.TMPDIR = root;
        try {
            let removed: string[] | undefined;
            const result = await runProgram({
                language: 'bash',
                code: 'echo started; sleep 0.3; cat main.sh > /dev/null && echo still-here',
                timeoutMs: 5000,
                memoryMb: 64,
                mode: 'bwrap',
                onOutput: (_stream, chunk) => {
                    if (chunk.includes('started')) {
                        void sweepStaleJobDirs(root).then((paths) => {
                            removed = paths;
                        });
                    }
                }
            });
            assert.equal(result.stdout, 'started\nstill-here\n');
            assert.deepEqual(removed, []);
        }
        finally {
            if (saved === undefined) delete process.env.TMPDIR;
            else process.env.TMPDIR = saved;
            await rm(root, { recursive: true, force: true });
        }
    });
});
