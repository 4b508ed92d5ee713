import { jobKeys, type RedisClient } from '@collab/core';

import type { AbortReason } from './processor.js';

/**
 * Listens on the cancel channel and aborts the run of a job this worker has
 * in progress. `subscriber` is in pub/sub mode (shared with the event bus,
 * which ignores channels it does not know). Returns the function that stops.
 */
export async function listenForCancels(
    subscriber: RedisClient,
    prefix: string,
    running: ReadonlyMap<string, AbortController>
): Promise<() => Promise<void>> {
    const channel = jobKeys(prefix).cancelChannel;
    const onMessage = (from: string, jobId: string): void => {
        if (from === channel) {
            running.get(jobId)?.abort('cancel' satisfies AbortReason);
        }
    };
    subscriber.on('message', onMessage);
    await subscriber.subscribe(channel);
    return async () => {
        subscriber.off('message', onMessage);
        if (subscriber.status === 'ready') {
            await subscriber.unsubscribe(channel).catch(() => undefined);
        }
    };
}
