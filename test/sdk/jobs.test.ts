import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CollabClient, ConflictError, NotFoundError, ValidationError } from '@collab/sdk';

import { advertiseFakeWorker, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

/** Jobs without a worker: a fake advert makes python "live", so jobs stay queued. */
describe('client.jobs', () => {
    let t: TestServer;
    let user: TestUser;
    let client: CollabClient;

    before(async () => {
        t = await startTestServer({ listen: true });
        await advertiseFakeWorker(t, { python: '3.11.2' });
        user = await t.user();
        client = new CollabClient({ baseUrl: t.server.info.uri, token: user.access, refreshToken: user.refresh });
    });
    after(async () => {
        await t.stop();
    });

    it('lists the languages of live workers', async () => {
        assert.deepEqual(await client.jobs.languages(), [{ language: 'python', version: '3.11.2' }]);
    });

    it('submits, gets, lists and cancels a job', async () => {
        const queued = await client.jobs.submit({ code: 'print(1)', language: 'python' });
        assert.equal(queued.status, 'queued');
        assert.match(queued.job_id, /^job_/);

        const job = await client.jobs.get(queued.job_id);
        assert.deepEqual([job.job_id, job.status, job.language, job.workspace_id], [queued.job_id, 'queued', 'python', null]);
        assert.ok((await client.jobs.list({ status: 'queued' }).toArray()).some((j) => j.job_id === queued.job_id));

        assert.equal((await client.jobs.cancel(queued.job_id)).status, 'cancelled');
        assert.equal((await client.jobs.get(queued.job_id)).status, 'cancelled');
        assert.deepEqual((await client.jobs.list({ status: 'queued' })).data.filter((j) => j.job_id === queued.job_id), []);
    });

    it('creates one job when the response to a submit is lost and the SDK retries', async () => {
        const keys: Array<string | null> = [];
        let calls = 0;
        const lossy = new CollabClient({
            baseUrl: t.server.info.uri,
            token: user.access,
            fetch: async (input, init) => {
                keys.push(new Headers(init?.headers).get('idempotency-key'));
                const response = await fetch(input, init);
                if (++calls === 1) {
                    throw new TypeError('fetch failed');       // the server made the job; its answer is lost
                }

                return response;
            }
        });
        const code = 'print("once")';
        const result = await lossy.jobs.submit({ code, language: 'python' });
        assert.equal(keys.length, 2);
        assert.equal(keys[1], keys[0]);
        const mine = (await client.jobs.list().toArray()).filter((j) => j.job_id === result.job_id);
        assert.equal(mine.length, 1);
        assert.equal((await client.jobs.list().toArray()).length, 2);
    });

    it('returns the same job for the same key and body, and 409 for another body', async () => {
        const first = await client.jobs.submit({ code: 'print(2)', language: 'python' }, { idempotencyKey: 'same-key' });
        const again = await client.jobs.submit({ code: 'print(2)', language: 'python' }, { idempotencyKey: 'same-key' });
        assert.equal(again.job_id, first.job_id);
        await assert.rejects(client.jobs.submit({ code: 'print(3)', language: 'python' }, { idempotencyKey: 'same-key' }), ConflictError);
    });

    it('refuses an unknown language naming the field, and unknown jobs with 404', async () => {
        await assert.rejects(client.jobs.submit({ code: 'x', language: 'cobol' }), (err: unknown) => err instanceof ValidationError && err.field === 'language' && /python/.test(err.message));
        await assert.rejects(client.jobs.get('job_doesnotexist'), NotFoundError);
        await assert.rejects(client.jobs.cancel('job_doesnotexist'), NotFoundError);
    });
});
