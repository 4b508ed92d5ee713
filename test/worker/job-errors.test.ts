import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobUpdate } from '@collab/protocol';
import { bullJobOptions, jobKeys, JOB_QUEUE_NAME, newJobId, parseJobUpdate, type Config } from '@collab/core';
import { startWorker, type WorkerHandle } from '@collab/worker';

import { JOB_ERRORS } from '../../packages/worker/src/store.js';
import { REDIS_URL, testConfig } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cleanRedis } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

interface Row {
    status: string;
    attempts: number;
    stdout: string;
    stderr: string;
    error: string | null;
}

/** What a real run, in the real sandbox, leaves in `error` and in the output (DESIGN §4). */
describe('job results and errors of real runs', () => {
    let config: Config;
    let database: TestDatabase;
    let worker: WorkerHandle;
    let queue: Queue;
    let subscriber: Redis;
    let userId: number;
    const updates: JobUpdate[] = [];

    async function run(code: string, id = newJobId()): Promise<string> {
        await database.db('jobs').insert({ id, user_id: userId, language: 'python', code, timeout_ms: 10_000, memory_mb: 256 });
        await subscriber.subscribe(jobKeys(config.redisPrefix).updates(id));
        await queue.add('run', { job_id: id }, bullJobOptions(id));
        return id;
    }

    const ended = (id: string, timeoutMs = 20_000) => until(async () => {
        const row = await database.db('jobs').where({ id }).first() as Row;
        return ['queued', 'running'].includes(row.status) ? undefined : row;
    }, timeoutMs, `job ${id} to end`);

    before(async () => {
        config = testConfig();
        database = await createTestDatabase();
        [{ id: userId }] = await database.db('users').insert({ email: 'errors@example.com', password_hash: 'x' }).returning('id');
        queue = new Queue(JOB_QUEUE_NAME, { connection: { url: REDIS_URL }, prefix: jobKeys(config.redisPrefix).bullPrefix });
        subscriber = new Redis(REDIS_URL);
        subscriber.on('message', (_channel: string, text: string) => {
            const update = parseJobUpdate(text);
            if (update) {
                updates.push(update);
            }
        });
        worker = await startWorker({ config, db: database.db });
    });

    after(async () => {
        await worker.close();
        await queue.close();
        subscriber.disconnect();
        await cleanRedis(config.redisPrefix);
        await database.drop();
    });

    it('ends a program that prints NUL bytes succeeded, its output stored with U+FFFD, in one attempt', async () => {
        const id = await run('import sys\nsys.stdout.write("a\\0b")\nsys.stderr.write("\\0")');
        const row = await ended(id);
        assert.deepEqual([row.status, row.attempts, row.stdout, row.stderr, row.error], ['succeeded', 1, 'a\uFFFDb', '\uFFFD', null]);
    });

    it('gives a fixed sentence in error, not the database\'s text, when the result cannot be written', async () => {
        const id = newJobId();
        // A real write failure of PostgreSQL for this job's result: the row refuses any terminal status but error.
        await database.db.raw(`
            CREATE FUNCTION refuse_result() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.id = '${id}' AND NEW.status IN ('succeeded', 'failed') THEN
                    RAISE EXCEPTION 'could not extend file "base/16384/2619": No space left on device';
                END IF;
                RETURN NEW;
            END $$`);
        await database.db.raw('CREATE TRIGGER refuse_result BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION refuse_result()');
        try {
            await run('print("done")', id);
            const row = await ended(id, 30_000);
            assert.equal(row.status, 'error');
            assert.equal(row.attempts, 3);
            assert.equal(row.error, JOB_ERRORS.systemFailure(3));
            const announced = await until(() => updates.find((update) => update.job_id === id && update.type === 'status' && update.status === 'error'), 5000, 'the error update');
            assert.equal(announced.type === 'status' && announced.error, JOB_ERRORS.systemFailure(3));
        }
        finally {
            await database.db.raw('DROP TRIGGER refuse_result ON jobs');
            await database.db.raw('DROP FUNCTION refuse_result()');
        }
    });
});
