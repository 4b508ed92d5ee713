import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import type { Nes } from '@hapi/nes';
import type { Knex } from 'knex';
import { isTerminal, JOB_ID_PATTERN, type JobUpdate } from '@collab/protocol';
import { Job, JOB_RESOURCE_COLUMNS, jobKeys, jobResource, parseJobUpdate, type JobResourceRow, type PubSub } from '@collab/core';

import type { Connection, JobSubscription } from '../realtime/connection.js';
import { pubPrefix, serverMessage } from '../realtime/frames.js';

/** Receives a job's updates: the parsed update and the JSON it came as. */
export type JobUpdateListener = (update: JobUpdate, json: string) => void;

/**
 * Fans a job's Redis update channel out to local listeners: one SUBSCRIBE
 * (SSUBSCRIBE on a cluster) per job that has listeners on this instance,
 * dropped with the last one. `channels` (shard scope) holds a connection in
 * pub/sub mode, never quit here.
 */
export class JobRelay {
    readonly #channels: PubSub;
    readonly #stopListening: () => void;
    readonly #keys: ReturnType<typeof jobKeys>;
    readonly #listeners = new Map<string, Set<JobUpdateListener>>();
    readonly #onError: (err: Error) => void;
    readonly #onMessage = (channel: string, message: string): void => {
        if (!channel.startsWith(this.#keys.updatesPrefix)) {
            return;
        }

        const jobId = channel.slice(this.#keys.updatesPrefix.length);
        const listeners = this.#listeners.get(jobId);
        const update = listeners && parseJobUpdate(message);
        if (!update || update.job_id !== jobId) {
            return;
        }

        for (const listener of [...listeners]) {
            try {
                listener(update, message);
            }
            catch (err) {
                this.#onError(err as Error);
            }
        }
    };

    constructor(channels: PubSub, prefix: string, onError: (err: Error) => void = (err) => process.emitWarning(err)) {
        this.#channels = channels;
        this.#keys = jobKeys(prefix);
        this.#onError = onError;
        this.#stopListening = channels.onMessage(this.#onMessage);
    }

    /** Sends an update to the job's listeners on every instance. */
    async publish(update: JobUpdate): Promise<void> {
        await this.#channels.publish(this.#keys.updates(update.job_id), JSON.stringify(update));
    }

    /** Jobs with local listeners (tests check that none is left behind). */
    get size(): number {
        return this.#listeners.size;
    }

    /**
     * Listens to a job's updates; resolves once the channel is subscribed, to
     * the function that stops listening (idempotent). A failed SUBSCRIBE
     * leaves nothing behind.
     */
    async subscribe(jobId: string, listener: JobUpdateListener): Promise<() => void> {
        const channel = this.#keys.updates(jobId);
        const entry: JobUpdateListener = (update, json) => listener(update, json);
        let set = this.#listeners.get(jobId);
        if (!set) {
            set = new Set();
            this.#listeners.set(jobId, set);
        }

        set.add(entry);
        let active = true;
        const stop = () => {
            if (!active) {
                return;
            }

            active = false;
            const current = this.#listeners.get(jobId);
            if (!current?.delete(entry) || current.size > 0) {
                return;
            }

            this.#listeners.delete(jobId);
            this.#channels.unsubscribe(channel).catch(() => undefined);
        };

        try {
            await this.#channels.subscribe(channel);
        }
        catch (err) {
            stop();
            throw err;
        }

        return stop;
    }

    /** Drops every listener and stops reading the connection. */
    close(): void {
        this.#stopListening();
        this.#listeners.clear();
    }
}

/** A job's current status as an update message: the first message a new subscriber gets; once it ended, with the job itself. */
export function statusOf(row: JobResourceRow): JobUpdate {
    const update: JobUpdate = { type: 'status', job_id: row.id, status: row.status, attempts: row.attempts, exit_code: row.exit_code, error: row.error };
    return isTerminal(row.status) ? { ...update, job: jobResource(row) } : update;
}

/**
 * Mounts the nes subscription `/jobs/{job_id}` (DESIGN §5): the submitter and
 * members of the job's workspace receive its {@link JobUpdate}s, status
 * changes and output, starting with its current status. The subscription
 * lives on the socket's connection: it counts toward the socket's
 * subscription cap, and a membership change in the job's project re-checks
 * it (see `realtime/control.ts`). The `collab-jobs` plugin calls it when nes
 * is registered before it.
 */
export function relayJobUpdates(server: Server): void {
    const relay = server.plugins['collab-jobs'].relay;
    server.subscription('/jobs/{job_id}', {
        // nes awaits onSubscribe: a rejection is the subscribe's error reply.
        // eslint-disable-next-line @typescript-eslint/no-misused-promises
        onSubscribe: (socket, path, params) => subscribeToJob(server, relay, socket, path, (params as { job_id: string }).job_id),
        onUnsubscribe: (socket, path) => {
            server.plugins['collab-realtime'].connectionOf(socket)?.jobs.get(path)?.end();
        }
    });
}

async function subscribeToJob(server: Server, relay: JobRelay, socket: Nes.Socket, path: string, jobId: string): Promise<void> {
    const connection = server.plugins['collab-realtime'].connectionOf(socket);
    if (!connection) {
        throw Boom.unauthorized('Connection requires authentication');
    }

    connection.countMessage();

    const max = server.plugins['collab-realtime'].settings.maxSubscriptions;
    const claim = connection.claim(path, max);
    if (!claim) {
        throw Boom.tooManyRequests(`Too many subscriptions on this socket (at most ${max})`);
    }

    let stop: (() => void) | undefined;
    try {
        if (!JOB_ID_PATTERN.test(jobId)) {
            throw Boom.notFound('Job not found');
        }

        const prefix = pubPrefix(path);
        let queue: string[] | null = [];
        stop = await relay.subscribe(jobId, (_update, json) => {
            if (queue) {
                queue.push(json);
                return;
            }
            // Held to the end of the tick: updates that arrive together (a run's last output and its end) leave in one write.
            if (connection.hold()) {
                setImmediate(() => connection.release());
            }
            connection.write(Buffer.from(`${prefix}${json}}`));
        });
        // Read after subscribing: whatever happened before is in the row, whatever after is queued.
        // Nothing reaches the socket before the job is known to be visible to the user.
        const job = await visibleJob(server.app.db, jobId, connection.user.id);
        if (!job) {
            throw Boom.notFound('Job not found');
        }

        if (!connection.holds(claim)) {
            throw connection.open ? Boom.conflict('Replaced by a later subscription to this job') : Boom.notFound('Socket closed');
        }

        connection.jobs.get(path)?.end();
        connection.jobs.set(path, jobSubscription(connection, socket, path, jobId, job.project_id, stop));
        stop = undefined;
        connection.write(Buffer.from(`${prefix}${JSON.stringify(statusOf(job))}}`));

        const queued = queue;
        queue = null;
        for (const json of queued) {
            connection.write(Buffer.from(`${prefix}${json}}`));
        }
    }
    finally {
        stop?.();
        connection.settle(claim);
    }
}

/** A job as the API shows it and its workspace's project, if the user may see it (submitter, or member of its workspace, as GET). */
type VisibleJob = JobResourceRow & { project_id: number | null };

// Output columns are NULL until the job ends: reading them costs nothing before.
const VISIBLE_COLUMNS = [...JOB_RESOURCE_COLUMNS.map((column) => `jobs.${column}`), 'workspaces.project_id as project_id'];

async function visibleJob(db: Knex, jobId: string, userId: number): Promise<VisibleJob | undefined> {
    const row = await Job.query(db)
        .modify('visibleTo', userId)
        .leftJoin('workspaces', 'workspaces.id', 'jobs.workspace_id')
        .where('jobs.id', jobId)
        .first()
        .select(VISIBLE_COLUMNS) as unknown as VisibleJob | undefined;
    return row && { ...row, project_id: row.project_id ?? null };
}

function jobSubscription(connection: Connection, socket: Nes.Socket, path: string, jobId: string, projectId: number | null, stop: () => void): JobSubscription {
    const subscription: JobSubscription = {
        connection,
        jobId,
        path,
        projectId,
        end: () => {
            stop();
            if (connection.jobs.get(path) === subscription) {
                connection.jobs.delete(path);
            }
        },
        revoke: (reason) => {
            subscription.end();
            socket.revoke(path, serverMessage('revoked', { code: 403, message: reason, job_id: jobId }), { ignoreClose: true }).catch(() => undefined);
        }
    };
    return subscription;
}
