/** Event names: lower-case, starting with a letter, at most 64 characters. */
export const EVENT_NAME_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;

/** Largest accepted event payload, in bytes of its JSON text. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Presence events are ephemeral: no `seq`, never kept in history. */
export const PRESENCE_EVENTS = ['presence.join', 'presence.leave'] as const;

/** What a client sends: an event name and any JSON payload. */
export interface OutgoingEvent {
    event: string;
    payload: unknown;
}

/**
 * The one event envelope every transport delivers (DESIGN §5).
 * `seq` and `epoch` are absent on presence events.
 */
export interface EventEnvelope<P = unknown> {
    event: string;
    payload: P;
    /** Email of the sender. */
    user: string;
    user_id: number;
    workspace: number;
    seq?: number;
    epoch?: string;
    /** ISO 8601 UTC. */
    ts: string;
}
