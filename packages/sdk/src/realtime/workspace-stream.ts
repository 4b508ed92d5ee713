import type { EventEnvelope } from '@collab/protocol';

import type { CollabError } from '../errors.js';
import type { Role } from '../types.js';
import type { Channel, Disconnection } from './connection.js';
import type { EventHandler, ResyncInfo, SubscribeOptions } from './types.js';

interface ServerMessage {
    event?: unknown;
    payload?: Record<string, unknown>;
    seq?: unknown;
    epoch?: unknown;
}

/**
 * A workspace's event stream across reconnects: subscribes with `/since/{seq}/{epoch}` from the
 * last `seq` delivered, drops what was already delivered, and follows `resync` into a new epoch.
 */
export class WorkspaceStream implements Channel {
    #lastSeq?: number;
    #epoch?: string;
    #ended = false;

    constructor(readonly workspaceId: number, private readonly onEvent: EventHandler, private readonly options: SubscribeOptions) {
        this.#lastSeq = options.since;
        this.#epoch = options.since === undefined ? undefined : options.epoch;
    }

    /** Whether the stream ended (revoked, or its credentials died). */
    get ended(): boolean {
        return this.#ended;
    }

    path(): string {
        const base = `/workspaces/${this.workspaceId}`;
        if (this.#lastSeq === undefined) {
            return base;
        }

        return this.#epoch ? `${base}/since/${this.#lastSeq}/${encodeURIComponent(this.#epoch)}` : `${base}/since/${this.#lastSeq}`;
    }

    onConnected(resumed: boolean): void {
        this.options.onStatus?.({ state: 'connected', resumed, after: this.#lastSeq, epoch: this.#epoch });
    }

    onDisconnected(info: Disconnection): void {
        this.options.onStatus?.({ state: 'disconnected', ...info });
    }

    onEnded(error: CollabError | undefined, message?: unknown): void {
        this.#ended = true;
        if (error) {
            this.options.onStatus?.({ state: 'ended', error });
            return;
        }

        const text = (message as ServerMessage | undefined)?.payload?.message;
        this.options.onStatus?.({ state: 'revoked', message: typeof text === 'string' ? text : 'Your access to this workspace was removed' });
    }

    onMessage(message: unknown): void {
        const m = (message ?? {}) as ServerMessage & { seq?: unknown; epoch?: unknown };
        const payload = m.payload ?? {};
        // An event with a seq is a client's, whatever its name; server messages carry none.
        switch (typeof m.seq === 'number' ? undefined : m.event) {
            case 'resync':
                this.#resync({ epoch: String(payload.epoch), after: Number(payload.after ?? this.#lastSeq ?? 0), reason: payload.reason === 'history_lost' ? 'history_lost' : 'epoch_changed' });
                return;
            case 'role':
                this.options.onStatus?.({ state: 'role', role: payload.role as Role, message: typeof payload.message === 'string' ? payload.message : '' });
                return;
            case 'revoked':
                return;                                     // followed by nes's revoke, which ends the stream
        }

        if (typeof m.seq === 'number') {
            const epoch = typeof m.epoch === 'string' ? m.epoch : this.#epoch;
            if (epoch !== undefined && this.#epoch !== undefined && epoch !== this.#epoch) {
                this.#resync({ epoch, after: this.#lastSeq ?? 0, reason: 'epoch_changed' });
            }
            else if (this.#lastSeq !== undefined && m.seq <= this.#lastSeq) {
                return;                                     // delivered already
            }

            this.#lastSeq = m.seq;
            this.#epoch = epoch;
        }

        this.onEvent(message as EventEnvelope);
    }

    #resync(info: ResyncInfo): void {
        if (info.reason === 'epoch_changed') {
            this.#lastSeq = 0;                              // the new epoch is replayed from its start
        }

        this.#epoch = info.epoch;
        this.options.onResync?.(info);
    }
}
