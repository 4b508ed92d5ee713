import type { EventEnvelope } from '@collab/protocol';

import type { CollabError } from '../errors.js';
import type { Role } from '../types.js';

/** The first message of a resumed stream that cannot be trusted: reload state over REST. */
export interface ResyncInfo {
    /** The epoch the stream continues in. */
    epoch: string;
    /** The `seq` the stream was resumed after. */
    after: number;
    /** `epoch_changed`: the sequence started again; `history_lost`: events after `after` were trimmed. */
    reason: 'epoch_changed' | 'history_lost';
}

/** What happens to a subscription, as `onStatus` reports it. */
export type RealtimeStatus =
    /** Subscribed on a new socket; `resumed` after a reconnect, from `after` (the last `seq` delivered). */
    | { state: 'connected'; resumed: boolean; after?: number; epoch?: string }
    /** The socket dropped; the next attempt is in `retryInMs`. */
    | { state: 'disconnected'; code?: number; reason?: string; error?: CollabError; attempt: number; retryInMs: number }
    /** The caller's role in the project changed (as `viewer`, writes are refused). */
    | { state: 'role'; role: Role; message: string }
    /** Ended for good: the caller's access to the workspace was removed. */
    | { state: 'revoked'; message: string }
    /** Ended for good: the session died (`AuthenticationError`, code `account_deactivated` or `session_expired`) or the workspace became unreadable. */
    | { state: 'ended'; error: CollabError };

/** Options of `realtime.subscribe()`. */
export interface SubscribeOptions {
    /** Start after this `seq` (the retained events after it are replayed first). */
    since?: number;
    /** The epoch `since` belongs to; a stale one starts with `onResync`. */
    epoch?: string;
    /** Events were lost (stale epoch, trimmed history): reload state over REST. */
    onResync?: (info: ResyncInfo) => void;
    /** Connection and access changes. `revoked` and `ended` are final: no more events come. */
    onStatus?: (status: RealtimeStatus) => void;
}

/** Receives a workspace's events (with `seq`) and presence events (without), in order, each once. */
export type EventHandler = (event: EventEnvelope) => void;

/** Stops a subscription. */
export type Unsubscribe = () => void;
