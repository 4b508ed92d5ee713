import type { Duplex } from 'node:stream';

import Boom from '@hapi/boom';
import type { WebSocket } from 'ws';
import { CloseCode, type Role } from '@collab/protocol';

import type { AuthUser } from '../context.js';
import { MessageLimiter } from './token-bucket.js';

/** The two real-time transports. */
export type Transport = 'nes' | 'ws';

/** One workspace stream a socket receives. */
export interface Subscription {
    readonly connection: Connection;
    readonly workspaceId: number;
    readonly projectId: number;
    /** The user's role in the project, kept current by membership control messages. */
    role: Role;
    /** `''` for a plain socket; the subscribed path for nes (pub frames name it). */
    readonly path: string;
}

/** A job's updates a nes socket receives (`/jobs/{job_id}`). */
export interface JobSubscription {
    readonly connection: Connection;
    readonly jobId: string;
    /** The nes path, `/jobs/{job_id}`. */
    readonly path: string;
    /** The project of the job's workspace when subscribed (null: none); membership changes there re-check it. */
    readonly projectId: number | null;
    /** Stops the updates (idempotent). */
    end(): void;
    /** Stops the updates and tells the client why (nes `revoke`). */
    revoke(reason: string): void;
}

/** A subscribe in flight, holding its slot (a workspace or a job path) on the socket. */
export interface Claim {
    readonly key: string;
}

/** The slot of a workspace's subscription: a socket holds one per workspace. */
export function workspaceSlot(workspaceId: number): string {
    return `workspace:${workspaceId}`;
}

/** What a connection needs from the server. */
export interface ConnectionOptions {
    transport: Transport;
    user: AuthUser;
    rate: number;
    burst: number;
    maxBufferedBytes: number;
    /** Called when the socket wrote past `maxBufferedBytes` and was closed. */
    onSlow?: () => void;
}

const TERMINATE_AFTER_MS = 2_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
let counter = 0;

/**
 * A local socket of either transport, as the hub sees it: who it is, what
 * it receives, and how to write a frame already serialized once for every
 * socket. Writes go to the `ws` socket directly; one whose send buffer
 * passes `maxBufferedBytes` is closed (4408) and torn down shortly after, so
 * a client that stops reading never makes the server's memory grow.
 */
export abstract class Connection {
    readonly id = `c${++counter}`;
    readonly transport: Transport;
    readonly limiter: MessageLimiter;
    readonly subscriptions = new Set<Subscription>();
    /** Subscriptions per workspace, held or being resumed (presence counts a user once per socket and workspace). */
    readonly workspaces = new Map<number, number>();
    /** Job subscriptions by path (nes). */
    readonly jobs = new Map<string, JobSubscription>();
    private readonly claims = new Map<string, Claim>();
    user: AuthUser;
    private readonly maxBufferedBytes: number;
    private readonly onSlow?: () => void;
    private expiry: NodeJS.Timeout | undefined;
    private closing = false;
    private held: Duplex | undefined;

    protected constructor(protected readonly ws: WebSocket, options: ConnectionOptions) {
        this.transport = options.transport;
        this.user = options.user;
        this.limiter = new MessageLimiter(options.rate, options.burst);
        this.maxBufferedBytes = options.maxBufferedBytes;
        this.onSlow = options.onSlow;
        ws.once('close', () => {
            this.closing = true;
            clearTimeout(this.expiry);
        });
    }

    /** False once closing. */
    get open(): boolean {
        return !this.closing && this.ws.readyState === 1;
    }

    /**
     * Counts one message the client sent (a nes subscribe or request) against
     * the socket's rate limit: throws 429 past it, and closes the socket (1008)
     * when the client keeps going.
     */
    countMessage(): void {
        const verdict = this.limiter.check();
        if (verdict === 'ok') {
            return;
        }

        if (verdict === 'close') {
            this.close(CloseCode.policy, 'rate limit exceeded');
        }

        throw Boom.tooManyRequests('Rate limit exceeded: slow down');
    }

    /** Writes a frame (text unless `binary`); closes the socket when the client does not keep up. */
    write(frame: Buffer | Uint8Array, binary = false): void {
        if (!this.open) {
            return;
        }

        this.ws.send(frame, { binary });
        if (!this.held) {
            this.checkBuffer();
        }
    }

    /**
     * Writes a whole WebSocket frame, header included, on the socket `ws`
     * writes to (see {@link framedBinary}): a message broadcast to many
     * sockets is framed once, not once per socket. `ws` sends without
     * compression here, so its own frames go out synchronously and in order
     * with these.
     */
    writeFrame(frame: Buffer): void {
        const socket = this.rawSocket;
        if (!this.open || !socket) {
            return;
        }

        socket.write(frame);
        if (!this.held) {
            this.checkBuffer();
        }
    }

    /**
     * Holds writes back until {@link release}, so frames written meanwhile
     * (a burst of events in one tick) leave in one system call. Relies on
     * `ws`'s `_socket`, the net socket it writes to (cork is counted, so ws's
     * own per-frame cork/uncork nests inside). False when already held.
     */
    hold(): boolean {
        const socket = this.rawSocket;
        if (this.held || !socket || !this.open) {
            return false;
        }

        socket.cork();
        this.held = socket;
        return true;
    }

    /** Sends what {@link hold} held back. */
    release(): void {
        const socket = this.held;
        this.held = undefined;
        socket?.uncork();
        this.checkBuffer();
    }

    // The net socket `ws` writes to.
    private get rawSocket(): Duplex | undefined {
        return (this.ws as unknown as { _socket?: Duplex })._socket;
    }

    private checkBuffer(): void {
        if (this.open && this.ws.bufferedAmount > this.maxBufferedBytes) {
            this.onSlow?.();
            this.close(CloseCode.slowConsumer, 'slow consumer: messages were not read fast enough');
        }
    }

    /**
     * Reserves a subscription slot for a subscribe in flight: undefined when
     * the socket already holds or reserves `max` slots besides `key`. The
     * latest claim of a slot wins: an earlier one stops {@link holds | holding}.
     */
    claim(key: string, max: number): Claim | undefined {
        const slots = new Set(this.claims.keys());
        for (const workspaceId of this.workspaces.keys()) {
            slots.add(workspaceSlot(workspaceId));
        }

        for (const path of this.jobs.keys()) {
            slots.add(path);
        }

        if (!slots.has(key) && slots.size >= max) {
            return undefined;
        }

        const claim = { key };
        this.claims.set(key, claim);
        return claim;
    }

    /** True while the socket is open and `claim` is the latest of its slot. */
    holds(claim: Claim): boolean {
        return this.open && this.claims.get(claim.key) === claim;
    }

    /** Ends a claim once its subscribe finished, either way. */
    settle(claim: Claim): void {
        if (this.claims.get(claim.key) === claim) {
            this.claims.delete(claim.key);
        }
    }

    /** Subscribes in flight (tests check that none is left behind). */
    get claimed(): number {
        return this.claims.size;
    }

    /** Closes with a code and reason; a peer that does not answer the close is cut off. */
    close(code: number, reason: string): void {
        if (this.closing) {
            return;
        }

        this.closing = true;
        clearTimeout(this.expiry);
        this.ws.close(code, reason);
        setTimeout(() => this.ws.terminate(), TERMINATE_AFTER_MS).unref();
    }

    /**
     * Closes the socket (4401) when its access token expires, unless
     * `currentExpiry()` by then reports a later one (re-authenticated).
     */
    watchExpiry(): void {
        clearTimeout(this.expiry);
        const exp = this.currentExpiry();
        if (this.closing || exp === undefined) {
            return;
        }

        const ms = exp * 1000 - Date.now();
        if (ms <= 0) {
            this.close(CloseCode.unauthorized, 'access token expired');
            return;
        }

        this.expiry = setTimeout(() => this.watchExpiry(), Math.min(ms, MAX_TIMER_MS));
        this.expiry.unref();
    }

    /** Sends a server message (error, notice) about a subscription, or about the socket when `sub` is omitted. */
    abstract notify(message: object, sub?: Subscription): void;

    /** Ends a subscription whose access was removed. */
    abstract revoke(sub: Subscription, reason: string): void;

    /** The `exp` (epoch seconds) of the token the socket is authenticated with now. */
    protected abstract currentExpiry(): number | undefined;
}
