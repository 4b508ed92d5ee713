import nes from '@hapi/nes/lib/client.js';
import { platformWebSocket } from '#platform/websocket';

/** A WebSocket class: the platform's (browsers, Node 22+) or the `ws` package's default export. */
export interface WebSocketConstructor {
    new (url: string, ...rest: never[]): object;
    readonly CONNECTING: number;
    readonly OPEN: number;
    readonly CLOSING: number;
    readonly CLOSED: number;
}

/** How a nes socket closed. */
export interface NesCloseLog {
    code: number;
    reason: string;
    wasRequested: boolean;
}

/** The error nes rejects with: `statusCode` and `data` when the server answered one. */
export interface NesError extends Error {
    type?: string;
    statusCode?: number;
    data?: unknown;
}

type Handler = (message: unknown, flags: { revoked?: boolean }) => void;
type Auth = { headers: Record<string, string> } | undefined;

/** The part of the nes 14 client the SDK uses. */
export interface NesClient {
    onError: (err: NesError) => void;
    onDisconnect: (willReconnect: boolean, log: NesCloseLog) => void;
    connect(options: { auth?: Auth; reconnect: false; timeout?: number }): Promise<void>;
    disconnect(): Promise<void>;
    reauthenticate(auth: Auth): Promise<unknown>;
    subscribe(path: string, handler: Handler): Promise<void>;
    unsubscribe(path: string, handler?: Handler): Promise<void>;
}

interface NesClientClass {
    new (url: string, options?: { timeout?: number }): NesClient;
    WebSocket: WebSocketConstructor | null;
}

const Client = (nes as unknown as { Client: NesClientClass }).Client;

/**
 * A new nes client on `WebSocket` (when not given: the platform's, or the `ws` package on Node).
 * The nes client reads its WebSocket class from one static property when it connects, so it
 * is set for each client.
 */
export async function nesClient(url: string, WebSocket: WebSocketConstructor | undefined, requestTimeoutMs: number): Promise<NesClient> {
    const Impl = WebSocket ?? await platformWebSocket();
    if (!Impl) {
        throw new TypeError('No WebSocket implementation: pass one as the WebSocket option of new CollabClient()');
    }

    Client.WebSocket = Impl;
    const client = new Client(url, { timeout: requestTimeoutMs });
    client.onError = () => undefined;                 // nes logs to console.error by default
    return client;
}
