import type { RealtimeConnection } from '../realtime/connection.js';
import type { EventHandler, SubscribeOptions, Unsubscribe } from '../realtime/types.js';
import { WorkspaceStream } from '../realtime/workspace-stream.js';

/**
 * `client.realtime`: live workspace events over one shared WebSocket (nes), opened lazily with
 * the first subscription and closed with the last. It reconnects by itself (jittered exponential
 * backoff, 250 ms to 10 s) and refreshes the access token before it expires.
 */
export class RealtimeResource {
    readonly #connection: RealtimeConnection;

    constructor(connection: RealtimeConnection) {
        this.#connection = connection;
    }

    /**
     * Delivers a workspace's events to `onEvent` in `seq` order, each once, across reconnects:
     * every new socket resumes after the last `seq` delivered. Resolves once subscribed, to the
     * function that stops it; rejects with a `CollabError` (e.g. `NotFoundError` for a workspace
     * the caller cannot see, `ConnectionError` when the server cannot be reached).
     *
     * ```ts
     * const stop = await client.realtime.subscribe(31, (e) => console.log(e.seq, e.event), {
     *     onStatus: (s) => s.state === 'revoked' && console.log('access removed')
     * });
     * ```
     */
    async subscribe(workspaceId: number, onEvent: EventHandler, options: SubscribeOptions = {}): Promise<Unsubscribe> {
        if (!Number.isSafeInteger(workspaceId) || workspaceId < 1) {
            throw new TypeError('workspaceId must be a positive integer');
        }

        if (options.since !== undefined && (!Number.isSafeInteger(options.since) || options.since < 0)) {
            throw new TypeError('since must be a non-negative integer');
        }

        const stream = new WorkspaceStream(workspaceId, onEvent, options);
        await this.#connection.add(stream);
        return () => this.#connection.remove(stream);
    }

    /** Ends every subscription (without calling `onStatus`) and closes the socket. */
    close(): Promise<void> {
        return this.#connection.close();
    }
}
