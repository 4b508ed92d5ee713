import { CollabError, ConnectionError, errorForStatus, type ErrorBody } from '../errors.js';
import type { Transport } from '../http.js';
import { nesClient, type NesClient, type NesCloseLog, type NesError, type WebSocketConstructor } from './nes.js';
import { needsRefresh } from './token.js';

const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;

/** What opening a socket needs. */
export interface OpenOptions {
    transport: Transport;
    url: string;
    WebSocket?: WebSocketConstructor;
    /** Refresh the access token first even if it looks valid (the last socket closed with 4401). */
    forceRefresh: boolean;
    onClose: (client: NesClient, log: NesCloseLog) => void;
}

/** The access token to connect with, refreshed first when it expires soon (or `force`). */
export async function freshToken(transport: Transport, force: boolean): Promise<string | undefined> {
    const { access, refresh } = transport.tokens;
    if (refresh && (force || !access || needsRefresh(access))) {
        await transport.refreshAccess(access);
    }

    return transport.tokens.access;
}

/**
 * Opens and authenticates a nes socket (nes's own reconnect off). When `hello` is refused with
 * 401 (nes would give up), refreshes the token once and tries again.
 */
export async function openSocket(options: OpenOptions): Promise<NesClient> {
    const { transport } = options;
    let token = await freshToken(transport, options.forceRefresh);
    for (let retried = false; ; retried = true) {
        const client = await nesClient(options.url, options.WebSocket, REQUEST_TIMEOUT_MS);
        client.onDisconnect = (_willReconnect, log) => options.onClose(client, log);
        try {
            await client.connect({ auth: token ? { headers: { authorization: `Bearer ${token}` } } : undefined, reconnect: false, timeout: CONNECT_TIMEOUT_MS });
            return client;
        }
        catch (err) {
            if ((err as NesError).statusCode === 401 && !retried && transport.tokens.refresh) {
                token = await freshToken(transport, true);
                continue;
            }

            throw err;
        }
    }
}

/** A nes failure as a `CollabError`: the server's status when it answered, else a `ConnectionError`. */
export function realtimeError(err: unknown, transport: Transport): CollabError {
    if (err instanceof CollabError) {
        return err;
    }

    const { statusCode, data, message } = (err ?? {}) as NesError;
    if (typeof statusCode === 'number') {
        const body = (data && typeof data === 'object' ? data : { message }) as ErrorBody;
        return errorForStatus(statusCode, body, new Headers(), (text) => transport.redact(text));
    }

    if (err instanceof TypeError) {
        return new ConnectionError({ message: err.message, status: 0, code: 'no_websocket', cause: err });
    }

    return new ConnectionError({ message: `Could not connect to the real-time endpoint of the collab server at ${transport.baseUrl}`, status: 0, code: 'connection_failed', cause: err });
}
