import Boom from '@hapi/boom';
import type { Server } from '@hapi/hapi';
import type { Nes } from '@hapi/nes';
import { Job, jobKeys, parseJobUpdate, type JobUpdate } from '@collab/core';
import type { Redis } from 'ioredis';

import type { AuthUser } from '../context.js';

/** Receives a job's updates. */
export type JobUpdateListener = (update: JobUpdate) => void;

/**
 * Fans a job's Redis update channel out to local listeners: one SUBSCRIBE
 * per job that has listeners on this instance, dropped with the last one.
 * `subscriber` is a connection in pub/sub mode, never quit here.
 */
export class JobRelay {
    readonly #subscriber: Redis;
    readonly #keys: ReturnType<typeof jobKeys>;
    readonly #listeners = new Map<string, Set<JobUpdateListener>>();
    readonly #onMessage = (channel: string, message: string): void => {
        if (!channel.startsWith(this.#keys.updatesPrefix)) {
            return;
        }

        const update = parseJobUpdate(message);
        for (const listener of (update && this.#listeners.get(update.job_id)) ?? []) {
            listener(update!);
        }
    };

    constructor(subscriber: Redis, prefix: string) {
        this.#subscriber = subscriber;
        this.#keys = jobKeys(prefix);
        subscriber.on('message', this.#onMessage);
    }

    /** Listens to a job's updates; resolves once the channel is subscribed, to the function that stops listening. */
    async subscribe(jobId: string, listener: JobUpdateListener): Promise<() => void> {
        const entry: JobUpdateListener = (update) => listener(update);
        let set = this.#listeners.get(jobId);
        if (!set) {
            set = new Set();
            this.#listeners.set(jobId, set);
        }

        set.add(entry);
        await this.#subscriber.subscribe(this.#keys.updates(jobId));
        return () => {
            const current = this.#listeners.get(jobId);
            if (!current?.delete(entry) || current.size > 0) {
                return;
            }

            this.#listeners.delete(jobId);
            this.#subscriber.unsubscribe(this.#keys.updates(jobId)).catch(() => undefined);
        };
    }

    /** Drops every listener and stops reading the connection. */
    close(): void {
        this.#subscriber.off('message', this.#onMessage);
        this.#listeners.clear();
    }
}

/** A job's current status as an update message: the first message a new subscriber gets. */
export function statusOf(job: Job): JobUpdate {
    return { type: 'status', job_id: job.id, status: job.status, attempts: job.attempts, exit_code: job.exit_code, error: job.error };
}

/**
 * Mounts the nes subscription `/jobs/{job_id}` (DESIGN §5): the submitter and
 * members of the job's workspace receive its {@link JobUpdate}s, status
 * changes and output, starting with its current status. The `collab-jobs`
 * plugin calls it when nes is registered before it.
 */
export function relayJobUpdates(server: Server): void {
    const relay = server.plugins['collab-jobs'].relay;
    const stops = new Map<string, () => void>();
    const key = (socket: Nes.Socket, path: string) => `${socket.id}\n${path}`;
    server.subscription('/jobs/{job_id}', {
        onSubscribe: async (socket, path, params) => {
            const user = socket.auth.credentials?.user as AuthUser | undefined;
            const jobId = (params as { job_id: string }).job_id;
            const visible = user && await Job.query(server.app.db).modify('visibleTo', user.id).select('id').findById(jobId);
            if (!visible) {
                throw Boom.notFound('Job not found');
            }

            stops.get(key(socket, path))?.();
            stops.set(key(socket, path), await relay.subscribe(jobId, (update) => {
                socket.publish(path, update).catch(() => undefined);
            }));
            // After nes has added the socket (it does once this resolves): whatever happened before is in the row.
            setImmediate(() => {
                Job.query(server.app.db).findById(jobId).then(
                    (job) => job && socket.publish(path, statusOf(job)),
                    () => undefined
                );
            });
        },
        onUnsubscribe: (socket, path) => {
            stops.get(key(socket, path))?.();
            stops.delete(key(socket, path));
        }
    });
}
