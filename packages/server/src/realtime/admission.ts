import type { Duplex } from 'node:stream';

import type { WebSocket } from 'ws';
import { CloseCode } from '@collab/protocol';
import type { RealtimeSettings } from '@collab/core';

/** Why an upgrade is refused before the handshake: the HTTP status and a short reason. */
export interface Refusal {
    status: 429 | 503;
    reason: string;
}

const TERMINATE_AFTER_MS = 2_000;

/**
 * Who may hold a socket. `WS_MAX_CONNECTIONS` places are for authenticated
 * sockets of both transports; unauthenticated ones (a nes socket before its
 * `hello` succeeds, a plain socket being refused) never count toward them.
 * Those waiting to authenticate have a pool of their own, a tenth of
 * `WS_MAX_CONNECTIONS` (rounded up): when it is full the one that has waited
 * longest is cut off to make room, so sockets left idle cannot keep real
 * users from reaching `hello`. Each address may hold `WS_MAX_ANON_PER_IP`
 * unauthenticated sockets; beyond that upgrades are refused. A socket that
 * authenticates moves into the main count (the caller refuses it when that
 * is full); one that has not within `WS_AUTH_TIMEOUT` is closed (4401) and
 * cut off 2 s later if the peer does not answer the close.
 */
export class Admission {
    /** Open sockets waiting to authenticate, oldest first, with their auth timer. */
    private readonly waiting = new Map<WebSocket, NodeJS.Timeout>();
    /** Unauthenticated sockets the server is closing (expired, refused, cut off), with the timer that cuts them off. */
    private readonly leaving = new Map<WebSocket, NodeJS.Timeout | undefined>();
    private readonly ips = new Map<WebSocket, string>();
    private readonly perIp = new Map<string, number>();
    private readonly pool: number;

    /** `total` counts every open socket of both transports, authenticated or not. */
    constructor(private readonly settings: RealtimeSettings, private readonly total: () => number) {
        this.pool = Math.ceil(settings.maxConnections / 10);
    }

    /** Unauthenticated sockets now, waiting or being closed. */
    get anonymous(): number {
        return this.waiting.size + this.leaving.size;
    }

    /** True when every place for authenticated sockets is taken. */
    full(): boolean {
        return this.total() - this.anonymous >= this.settings.maxConnections;
    }

    /** Why one more unauthenticated socket from `ip` may not open (too many from that address), or null. */
    refusal(ip: string): Refusal | null {
        if ((this.perIp.get(ip) ?? 0) >= this.settings.maxAnonPerIp) {
            return { status: 429, reason: 'too many unauthenticated sockets from this address' };
        }

        return null;
    }

    /**
     * Makes room for one more socket from `ip` to wait for authentication
     * (cutting off the one that has waited longest when the pool is full),
     * or says why it may not open.
     */
    reserve(ip: string): Refusal | null {
        const refusal = this.refusal(ip);
        if (refusal) {
            return refusal;
        }

        if (this.waiting.size >= this.pool) {
            const [oldest] = this.waiting.keys();
            this.leave(oldest!);
            oldest!.terminate();
        }

        return null;
    }

    /** Counts an open, unauthenticated socket until it authenticates or closes. */
    admit(ws: WebSocket, ip: string): void {
        if (this.ips.has(ws) || ws.readyState > 1) {
            return;
        }

        const timer = setTimeout(() => this.expire(ws), this.settings.authTimeoutMs);
        timer.unref();
        this.waiting.set(ws, timer);
        this.ips.set(ws, ip);
        this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
        ws.once('close', () => this.release(ws));
    }

    /** Closes a socket being refused with `code`, counting it until it has closed. */
    refuse(ws: WebSocket, ip: string, code: number, reason: string): void {
        this.admit(ws, ip);
        this.leave(ws);
        ws.close(code, reason);
    }

    /** The socket authenticated: it no longer counts as unauthenticated. */
    authenticated(ws: WebSocket): void {
        if (this.waiting.has(ws)) {
            this.release(ws);
        }
    }

    private expire(ws: WebSocket): void {
        if (this.waiting.has(ws)) {
            this.leave(ws);
            ws.close(CloseCode.unauthorized, 'not authenticated in time');
        }
    }

    /** Moves a waiting socket out of the pool; it is cut off if it has not closed in 2 s. */
    private leave(ws: WebSocket): void {
        clearTimeout(this.waiting.get(ws));
        this.waiting.delete(ws);
        if (this.ips.has(ws) && !this.leaving.has(ws)) {
            const timer = setTimeout(() => ws.terminate(), TERMINATE_AFTER_MS);
            timer.unref();
            this.leaving.set(ws, timer);
        }
    }

    private release(ws: WebSocket): void {
        const ip = this.ips.get(ws);
        if (ip === undefined) {
            return;
        }

        clearTimeout(this.waiting.get(ws));
        clearTimeout(this.leaving.get(ws));
        this.waiting.delete(ws);
        this.leaving.delete(ws);
        this.ips.delete(ws);
        const left = (this.perIp.get(ip) ?? 1) - 1;
        if (left > 0) {
            this.perIp.set(ip, left);
        }
        else {
            this.perIp.delete(ip);
        }
    }
}

const STATUS_TEXT = { 403: 'Forbidden', 429: 'Too Many Requests', 503: 'Service Unavailable' } as const;

/** Refuses an upgrade before the handshake with an HTTP status and a one-line reason, then closes the connection. */
export function refuseUpgrade(socket: Duplex, status: keyof typeof STATUS_TEXT, reason: string): void {
    if (socket.destroyed) {
        return;
    }

    socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`);
}
