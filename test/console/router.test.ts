import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseRoute, workspaceHref } from '../../packages/console/src/router.js';

describe('parseRoute()', () => {
    it('reads the projects, a project, a workspace and a workspace with a file open', () => {
        assert.deepEqual(parseRoute(''), { page: 'projects' });
        assert.deepEqual(parseRoute('#/'), { page: 'projects' });
        assert.deepEqual(parseRoute('#/projects/7'), { page: 'project', id: 7 });
        assert.deepEqual(parseRoute('#/workspaces/3'), { page: 'workspace', id: 3, file: undefined });
        assert.deepEqual(parseRoute('#/workspaces/3/src/main.py'), { page: 'workspace', id: 3, file: 'src/main.py' });
    });

    it('falls back to the projects for anything else', () => {
        for (const hash of ['#/projects/0', '#/projects/-1', '#/projects/1.5', '#/projects/abc', '#/nope/1', '#/workspaces/9007199254740993']) {
            assert.deepEqual(parseRoute(hash), { page: 'projects' }, hash);
        }
    });

    it('round-trips file paths with spaces, #, ? and % through workspaceHref()', () => {
        for (const file of ['a b.py', 'dir/x#1.txt', 'q?.md', '100%.txt', 'ünï/cödé.js']) {
            assert.deepEqual(parseRoute(workspaceHref(5, file)), { page: 'workspace', id: 5, file });
        }
    });
});
