import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CLI, collab } from './run-cli.js';
import { advertiseFakeWorker, startTestServer, type TestServer } from '../helpers/server.js';

/** Job commands without a worker: a fake advert makes python "live", so jobs stay queued. */
describe('collab job', () => {
    let t: TestServer;
    let home: string;
    const ok = async (args: string[], input?: string) => {
        const run = await collab(home, args, { input });
        assert.equal(run.stderr, '', `collab ${args.join(' ')}`);
        assert.equal(run.code, 0);
        return run.stdout;
    };
    const json = async <T>(args: string[], input?: string) => JSON.parse(await ok([...args, '--json'], input)) as T;

    before(async () => {
        assert.ok(existsSync(CLI), `${CLI} is missing: build it first (npx tsc -b bin)`);
        t = await startTestServer({ listen: true });
        await advertiseFakeWorker(t, { python: '3.11.2' });
        home = mkdtempSync(join(tmpdir(), 'collab-cli-'));
        const user = await t.user();
        await ok(['login', '--server', t.server.info.uri, '--email', user.email, '--password-stdin'], 'correct horse battery\n');
    });
    after(async () => {
        rmSync(home, { recursive: true, force: true });
        await t.stop();
    });

    it('lists languages', async () => {
        assert.equal(await ok(['job', 'languages']), 'LANGUAGE  VERSION\npython    3.11.2\n');
    });

    it('submits code from --code, --file and stdin, then shows, lists and cancels', async () => {
        const queued = await ok(['job', 'submit', '--code', 'print(1)', '--language', 'python']);
        const id = /^Queued job (job_\S+): see collab job status \1\.\n$/.exec(queued)?.[1];
        assert.ok(id, queued);

        const file = join(home, 'hello.py');
        writeFileSync(file, 'print("hello")\n');
        const fromFile = await json<{ job_id: string; status: string }>(['job', 'submit', '--file', file, '--language', 'python']);
        assert.equal(fromFile.status, 'queued');
        const fromStdin = await json<{ job_id: string }>(['job', 'submit', '-', '--language', 'python'], 'print(3)\n');

        assert.match(await ok(['job', 'status', id]), /^Status: +queued$/m);
        const listed = await json<Array<{ job_id: string }>>(['job', 'list', '--status', 'queued']);
        assert.deepEqual(listed.map((j) => j.job_id), [fromStdin.job_id, fromFile.job_id, id]);

        assert.equal(await ok(['job', 'cancel', id]), `Cancelled job ${id}.\n`);
        assert.equal((await json<{ status: string }>(['job', 'status', id])).status, 'cancelled');
        assert.match(await ok(['job', 'list']), new RegExp(`^${id} +cancelled +python `, 'm'));
    });

    it('names the field of an unknown language, and says when a job is not found', async () => {
        const unknown = await collab(home, ['job', 'submit', '--code', 'x', '--language', 'cobol']);
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /^Invalid language: .*python.*\.\n$/);
        const missing = await collab(home, ['job', 'status', 'job_nope']);
        assert.deepEqual(missing, { code: 1, stdout: '', stderr: 'Cannot show job job_nope: job not found.\n' });
    });
});
