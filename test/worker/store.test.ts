import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';

import { createLogger, Job, jobKeys, newJobId, parseJobUpdate, PubSub } from '@collab/core';
import { Redis } from 'ioredis';

import { JobPublisher } from '../../packages/worker/src/publisher.js';
import { claimJob, failJob, finishJob, JOB_ERRORS } from '../../packages/worker/src/store.js';
import { REDIS_URL, testPrefix } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cleanRedis } from '../helpers/server.js';

/** DESIGN §4: NUL bytes in a program's output are stored as U+FFFD, so the result is still a result. */
describe('job output with NUL characters', () => {
    let database: TestDatabase;
    let userId: number;
    const prefix = testPrefix();

    async function claimed(): Promise<string> {
        const id = newJobId();
        await database.db('jobs').insert({ id, user_id: userId, language: 'python', code: 'print(1)', timeout_ms: 1000, memory_mb: 64 });
        assert.ok(await claimJob(database.db, id));
        return id;
    }

    before(async () => {
        database = await createTestDatabase();
        [{ id: userId }] = await database.db('users').insert({ email: 'store@example.com', password_hash: 'x' }).returning('id');
    });

    after(async () => {
        await cleanRedis(prefix);
        await database.drop();
    });

    it('stores NUL in stdout and stderr as U+FFFD and keeps the status', async () => {
        const id = await claimed();
        const written = await finishJob(database.db, id, 1, {
            status: 'failed', exit_code: 3, stdout: 'a\u0000b\u0000', stderr: '\u0000', truncated: false, duration_ms: 5, error: null
        });
        const row = await database.db('jobs').where({ id }).first();
        assert.deepEqual([row.status, row.exit_code, row.stdout, row.stderr], ['failed', 3, 'a\uFFFDb\uFFFD', '\uFFFD']);
        const read = await Job.query(database.db).findById(id);
        assert.deepEqual(written, read?.toApi(), 'the job as it was written, as the API shows it');
    });

    it('publishes live output with NUL as U+FFFD, as the row will hold it', async () => {
        const redis = new Redis(REDIS_URL);
        const subscriber = new Redis(REDIS_URL);
        try {
            const channel = jobKeys(prefix).updates('job_nuloutput1');
            await subscriber.subscribe(channel);
            const publisher = new JobPublisher({ updates: new PubSub('shard', redis), prefix, logger: createLogger('silent', 'test') });
            const batch = publisher.output('job_nuloutput1');
            const message = once(subscriber, 'message');
            batch.push('stdout', 'a\u0000b');
            batch.flush();
            const [, text] = await message as [string, string];
            assert.deepEqual(parseJobUpdate(text), { type: 'output', job_id: 'job_nuloutput1', stream: 'stdout', data: 'a\uFFFDb' });
        }
        finally {
            redis.disconnect();
            subscriber.disconnect();
        }
    });

    it('publishes the output still waiting before the final status, and nothing after it', async () => {
        const redis = new Redis(REDIS_URL);
        const subscriber = new Redis(REDIS_URL);
        try {
            const jobId = 'job_finaloutput1';
            await subscriber.subscribe(jobKeys(prefix).updates(jobId));
            const received: string[] = [];
            subscriber.on('message', (_channel: string, text: string) => received.push(text));
            const publisher = new JobPublisher({ updates: new PubSub('shard', redis), prefix, logger: createLogger('silent', 'test') });
            const batch = publisher.output(jobId);
            batch.push('stdout', 'last ');
            batch.push('stdout', 'words\n');
            batch.push('stderr', 'bye\n');
            await publisher.status({ id: jobId, user_id: userId, user_email: 'store@example.com', workspace_id: null, attempts: 1 }, 'succeeded', 0, null, batch);
            batch.flush();
            await redis.publish(jobKeys(prefix).updates(jobId), 'end');
            while (received.at(-1) !== 'end') {
                await once(subscriber, 'message');
            }
            assert.deepEqual(received.slice(0, -1).map((text) => parseJobUpdate(text)), [
                { type: 'output', job_id: jobId, stream: 'stdout', data: 'last words\n' },
                { type: 'output', job_id: jobId, stream: 'stderr', data: 'bye\n' },
                { type: 'status', job_id: jobId, status: 'succeeded', attempts: 1, exit_code: 0, error: null }
            ]);
        }
        finally {
            redis.disconnect();
            subscriber.disconnect();
        }
    });

    it('ends a job with error holding the sentence it was given', async () => {
        const id = await claimed();
        const owner = await failJob(database.db, id, JOB_ERRORS.systemFailure(3));
        assert.equal(owner?.id, id);
        const row = await database.db('jobs').where({ id }).first();
        assert.deepEqual([row.status, row.error], ['error', 'system failure after 3 attempt(s); an administrator can retry it']);
    });
});
