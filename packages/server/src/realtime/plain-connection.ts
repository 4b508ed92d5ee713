import Boom from '@hapi/boom';
import type { RawData, WebSocket } from 'ws';
import { CloseCode, exceedsJsonDepth, MAX_JSON_DEPTH } from '@collab/protocol';

import { Connection, type ConnectionOptions, type Subscription } from './connection.js';
import { errorMessage, serverMessage } from './frames.js';
import { isFileWrite } from '../events/send.js';

/** What a plain socket's frames turn into: the shared send path and token checks. */
export interface PlainHandlers {
    /** Publishes a client event (the code path of the HTTP route); throws Boom. Issues its publish before its first await unless it writes a file. */
    send(connection: PlainConnection, sub: Subscription, event: string, payload: unknown): Promise<unknown>;
    /** Checks a new token for the socket's user; resolves to its `exp`, throws Boom 401/403. */
    reauth(connection: PlainConnection, token: unknown): Promise<number>;
}

/**
 * A plain WebSocket (`/ws/workspaces/{id}/`): one workspace per socket.
 * Frames are rate limited as they arrive and published in order; every
 * refusal is an `error` frame and the socket stays open.
 */
export class PlainConnection extends Connection {
    /** The socket's one subscription, once attached. */
    sub: Subscription | undefined;
    private exp: number;
    private queue: Promise<void> = Promise.resolve();
    private queued = 0;

    constructor(ws: WebSocket, options: ConnectionOptions & { exp: number }, private readonly handlers: PlainHandlers) {
        super(ws, options);
        this.exp = options.exp;
        ws.on('message', (data) => this.receive(data));
    }

    notify(message: object): void {
        if (this.open) {
            this.ws.send(JSON.stringify(message));
        }
    }

    revoke(_sub: Subscription, reason: string): void {
        this.close(CloseCode.forbidden, reason);
    }

    protected currentExpiry(): number {
        return this.exp;
    }

    private receive(data: RawData): void {
        const verdict = this.limiter.check();
        if (verdict !== 'ok') {
            if (verdict === 'close') {
                this.close(CloseCode.policy, 'rate limit exceeded');
            }
            else {
                this.notify(errorMessage(429, 'Rate limit exceeded: slow down'));
            }

            return;
        }

        let frame: unknown;
        try {
            frame = JSON.parse((data as Buffer).toString());
        }
        catch {
            this.notify(errorMessage(400, 'Frame is not valid JSON'));
            return;
        }

        if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
            this.notify(errorMessage(400, 'Frame must be a JSON object {"event", "payload"}'));
            return;
        }

        if (exceedsJsonDepth(frame)) {
            this.notify(errorMessage(400, `Frame nests deeper than ${MAX_JSON_DEPTH} levels`));
            return;
        }

        const { event, payload } = frame as Record<string, unknown>;
        if (event === 'auth') {
            this.run(() => this.reauth(payload), true);
            return;
        }

        if (payload === undefined) {
            this.notify(errorMessage(400, 'payload is required'));
            return;
        }

        const sub = this.sub!;
        this.run(() => this.handlers.send(this, sub, event as string, payload), isFileWrite(event, payload));
    }

    private async reauth(payload: unknown): Promise<void> {
        const token = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>).token : undefined;
        this.exp = await this.handlers.reauth(this, token);
        this.watchExpiry();
        this.notify(serverMessage('authenticated', { expires_at: new Date(this.exp * 1000).toISOString() }));
    }

    /**
     * Keeps a client's events in order without waiting a round trip per frame: a plain event
     * issues its Redis command before its first await, so it starts at once while nothing is
     * queued; file writes and re-authentication wait for the database first, so they, and
     * everything after them, go through the queue one at a time.
     */
    private run(work: () => Promise<unknown>, slow: boolean): void {
        if (!slow && this.queued === 0) {
            work().catch(this.report);
            return;
        }

        this.queued++;
        this.queue = this.queue.then(work).then(() => undefined).catch(this.report).finally(() => {
            this.queued--;
        });
    }

    /** Answers a refused frame with an `error` frame; never throws (its callers are fire-and-forget). */
    private readonly report = (err: unknown): void => {
        try {
            const error = Boom.isBoom(err) ? err : Boom.boomify(err instanceof Error ? err : new Error(String(err)));
            const { statusCode, payload } = error.output;
            this.notify(errorMessage(statusCode, statusCode >= 500 && statusCode !== 503 ? 'Internal server error' : payload.message));
        }
        catch {
            this.close(CloseCode.internal, 'internal error');
        }
    };
}
