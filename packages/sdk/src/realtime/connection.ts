import { AuthenticationError, type CollabError } from '../errors.js';
import type { Transport } from '../http.js';
import { reconnectDelay, STABLE_AFTER_MS } from './backoff.js';
import type { NesClient, NesCloseLog, WebSocketConstructor } from './nes.js';
import { openSocket, realtimeError } from './open.js';
import { Reauthenticator } from './reauth.js';

/** Why the socket dropped, and when the next attempt is. */
export interface Disconnection {
    /** The WebSocket close code, when the socket closed (4401: token expired or account deactivated; 1012: server restarting). */
    code?: number;
    reason?: string;
    /** The error of the last failed attempt, when connecting failed. */
    error?: CollabError;
    /** Reconnect attempts since the last stable connection (1 for the first). */
    attempt: number;
    retryInMs: number;
}

/** A nes subscription kept alive across reconnects by a {@link RealtimeConnection}. */
export interface Channel {
    /** The path to subscribe to on a new socket (it may change as events arrive). */
    path(): string;
    /** A socket is up and the channel is being subscribed on it; `resumed` after a reconnect. */
    onConnected(resumed: boolean): void;
    onMessage(message: unknown): void;
    onDisconnected(info: Disconnection): void;
    /** Ended for good: revoked by the server (`error` undefined, `message` its last word) or the credentials died. */
    onEnded(error: CollabError | undefined, message?: unknown): void;
}

type Handler = (message: unknown, flags: { revoked?: boolean }) => void;

interface ChannelState {
    established: boolean;
    client?: NesClient;
    path?: string;
    handler?: Handler;
    pending?: Promise<void>;
}

const noop = () => undefined;

/**
 * One shared nes socket per client, opened with the first channel and closed with the last.
 * Reconnects on its own (nes's reconnect is off) with jittered exponential backoff, refreshes the
 * access token before connecting and before it expires (nes `reauth` on a live socket), and
 * re-subscribes every channel on each new socket with the path the channel gives then.
 */
export class RealtimeConnection {
    readonly #transport: Transport;
    readonly #WebSocket?: WebSocketConstructor;
    readonly #url: string;
    readonly #channels = new Map<Channel, ChannelState>();
    readonly #reauth: Reauthenticator;
    #client?: NesClient;
    #connecting?: Promise<NesClient>;
    #attempt = 0;
    #forceRefresh = false;
    #lastClose?: { code: number; reason: string };
    #retryTimer?: ReturnType<typeof setTimeout>;
    #stableTimer?: ReturnType<typeof setTimeout>;

    constructor(transport: Transport, WebSocket?: WebSocketConstructor) {
        this.#transport = transport;
        this.#WebSocket = WebSocket;
        this.#url = `${transport.baseUrl.replace(/^http/, 'ws')}/`;
        this.#reauth = new Reauthenticator(transport, (error) => this.#fail(error));
    }

    /** Subscribes a channel, connecting first if needed; rejects with a `CollabError` when that fails. */
    async add(channel: Channel): Promise<void> {
        const state: ChannelState = { established: false };
        this.#channels.set(channel, state);
        try {
            await this.#subscribe(await this.#ready(), channel, state);
        }
        catch (err) {
            if (this.#channels.get(channel) === state && !state.established) {
                this.#channels.delete(channel);
                this.#idle();
            }

            throw err;
        }
    }

    /** Unsubscribes a channel; the socket closes with the last one. */
    remove(channel: Channel): void {
        const state = this.#channels.get(channel);
        if (!state) {
            return;
        }

        this.#channels.delete(channel);
        if (state.client && state.client === this.#client && state.handler) {
            state.client.unsubscribe(state.path!, state.handler).catch(noop);
        }

        this.#idle();
    }

    /** Drops every channel (without telling them) and closes the socket. */
    async close(): Promise<void> {
        this.#channels.clear();
        await this.#shutdown();
    }

    #ready(): Promise<NesClient> {
        if (this.#client) {
            return Promise.resolve(this.#client);
        }

        clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
        this.#connecting ??= this.#connect().finally(() => {
            this.#connecting = undefined;
        });
        return this.#connecting;
    }

    async #connect(): Promise<NesClient> {
        let client: NesClient;
        try {
            client = await openSocket({ transport: this.#transport, url: this.#url, WebSocket: this.#WebSocket, forceRefresh: this.#forceRefresh, onClose: (c, log) => this.#onClose(c, log) });
            this.#forceRefresh = false;
        }
        catch (err) {
            const error = realtimeError(err, this.#transport);
            if (error instanceof AuthenticationError) {
                throw this.#fail(error);
            }

            this.#retryLater({ error });
            throw error;
        }

        this.#onOpen(client);
        return client;
    }

    #onOpen(client: NesClient): void {
        if (this.#channels.size === 0) {
            client.disconnect().catch(noop);
            return;
        }

        this.#client = client;
        this.#lastClose = undefined;
        this.#reauth.start(client);
        this.#stableTimer = setTimeout(() => (this.#attempt = 0), STABLE_AFTER_MS);
        for (const [channel, state] of this.#channels) {
            this.#subscribe(client, channel, state).catch((err: CollabError) => this.#onRefused(client, channel, state, err));
        }
    }

    #subscribe(client: NesClient, channel: Channel, state: ChannelState): Promise<void> {
        if (state.client === client && state.pending) {
            return state.pending;
        }

        state.client = client;
        channel.onConnected(state.established);
        const path = channel.path();
        const handler: Handler = (message, flags) => {
            if (this.#channels.get(channel) !== state || state.client !== client) {
                return;
            }

            if (flags.revoked) {
                this.#channels.delete(channel);
                this.#idle();
                channel.onEnded(undefined, message);
                return;
            }

            channel.onMessage(message);
        };

        Object.assign(state, { path, handler });
        state.pending = client.subscribe(path, handler).then(() => {
            state.established = true;
        }, (err: unknown) => {
            if (state.client === client) {
                state.client = state.pending = undefined;
            }

            throw realtimeError(err, this.#transport);
        });
        return state.pending;
    }

    /** A re-subscription failed: refused for good (ends the channel) or for now (reconnect later). */
    #onRefused(client: NesClient, channel: Channel, state: ChannelState, error: CollabError): void {
        if (!state.established || this.#channels.get(channel) !== state) {
            return;                                         // add() reports it
        }

        if ([400, 403, 404].includes(error.status)) {
            this.#channels.delete(channel);
            this.#idle();
            channel.onEnded(error);
            return;
        }

        if (client === this.#client) {
            this.#forceRefresh ||= error.status === 401;
            this.#detach();
            client.disconnect().catch(noop);
            this.#retryLater({ error });
        }
    }

    #onClose(client: NesClient, log: NesCloseLog): void {
        if (client !== this.#client) {
            return;
        }

        this.#detach();
        if (log.wasRequested) {
            return;
        }

        this.#lastClose = { code: log.code, reason: log.reason };
        this.#forceRefresh ||= log.code === 4401;          // token expired, or account deactivated
        this.#retryLater({ code: log.code, reason: log.reason });
    }

    #detach(): void {
        this.#client = undefined;
        this.#reauth.stop();
        clearTimeout(this.#stableTimer);
        for (const state of this.#channels.values()) {
            state.client = state.pending = undefined;
        }
    }

    #retryLater(info: Omit<Disconnection, 'attempt' | 'retryInMs'>): void {
        const established = [...this.#channels].filter(([, state]) => state.established).map(([channel]) => channel);
        if (established.length === 0 || this.#retryTimer) {
            return;
        }

        const retryInMs = reconnectDelay(this.#attempt);
        const attempt = ++this.#attempt;
        this.#retryTimer = setTimeout(() => {
            this.#retryTimer = undefined;
            this.#ready().catch(noop);
        }, retryInMs);
        for (const channel of established) {
            channel.onDisconnected({ ...info, attempt, retryInMs });
        }
    }

    /** The credentials are dead: ends every subscribed channel. Returns the error to report. */
    #fail(error: AuthenticationError): AuthenticationError {
        const final = this.#lastClose?.reason === 'account deactivated'
            ? new AuthenticationError({ message: 'The account has been deactivated', status: 401, code: 'account_deactivated', cause: error })
            : error;
        for (const [channel, state] of [...this.#channels]) {
            if (state.established) {
                this.#channels.delete(channel);
                channel.onEnded(final);
            }
        }

        this.#idle();
        return final;
    }

    #idle(): void {
        if (this.#channels.size === 0) {
            void this.#shutdown();
        }
    }

    async #shutdown(): Promise<void> {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
        this.#attempt = 0;
        this.#forceRefresh = false;
        const client = this.#client;
        this.#detach();
        await client?.disconnect();
    }
}
