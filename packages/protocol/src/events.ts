/** Event names: lower-case, starting with a letter, at most 64 characters. */
export const EVENT_NAME_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;

/** Presence events are ephemeral: no `seq`, never kept in history. */
export const PRESENCE_EVENTS = ['presence.join', 'presence.leave'] as const;

/** Messages only the server sends about a socket or subscription: same outer shape as an envelope, no `seq`. */
export const SERVER_EVENTS = ['auth', 'error', 'resync', 'role', 'authenticated', 'revoked'] as const;

/** The name of a {@link ServerMessage}. */
export type ServerEvent = (typeof SERVER_EVENTS)[number];

/** Prefixes of the event families the server publishes itself (presence, jobs). */
export const RESERVED_EVENT_PREFIXES = ['presence.', 'job.'] as const;

/** True for a name no client may send: server messages, presence and job events. */
export function isReservedEvent(name: string): boolean {
    return (SERVER_EVENTS as readonly string[]).includes(name) || RESERVED_EVENT_PREFIXES.some((prefix) => name.startsWith(prefix));
}

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

/** A server message (`error`, `resync`, `role`, `authenticated`, `revoked`): the envelope's outer shape, no `seq` or user. */
export interface ServerMessage {
    event: ServerEvent;
    payload: Record<string, unknown>;
    workspace?: number;
    ts: string;
}
