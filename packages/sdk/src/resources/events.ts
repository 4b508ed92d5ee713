import type { EventEnvelope, OutgoingEvent } from '@collab/protocol';

import type { Transport } from '../http.js';
import { paginate, type ListPromise } from '../pagination.js';
import type { EventHistoryParams, RequestOptions, SendResult } from '../types.js';

/** `client.events`: a workspace's event stream over REST. */
export class EventsResource {
    readonly #transport: Transport;

    constructor(transport: Transport) {
        this.#transport = transport;
    }

    /** Broadcasts an event to the workspace. Never retried: a retry could send it twice. */
    async send(workspaceId: number, event: OutgoingEvent, options?: RequestOptions): Promise<SendResult> {
        return (await this.#transport.request<SendResult>({ route: 'events.send', params: { id: workspaceId }, body: event, options })).data;
    }

    /**
     * The retained events after `after`, oldest first. With a stale `epoch` the call fails with a
     * `ConflictError` whose `body.epoch` is the current one: reload state over REST.
     */
    history(workspaceId: number, params: EventHistoryParams = {}, options?: RequestOptions): ListPromise<EventEnvelope> {
        return paginate(this.#transport, { route: 'events.history', params: { id: workspaceId }, query: { ...params }, options });
    }
}
