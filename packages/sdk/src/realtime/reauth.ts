import { AuthenticationError } from '../errors.js';
import type { Transport } from '../http.js';
import type { NesClient } from './nes.js';
import { realtimeError } from './open.js';
import { refreshMargin, tokenTimes } from './token.js';

const MAX_TIMER_MS = 2 ** 31 - 1;
const MIN_DELAY_MS = 200;

/**
 * Keeps a live socket's credentials fresh: shortly before the access token expires, refreshes it
 * over REST and re-authenticates the socket (nes `reauth`). When that fails for any reason but a
 * dead session, the server closes the socket at expiry (4401) and the reconnect refreshes.
 */
export class Reauthenticator {
    readonly #transport: Transport;
    readonly #onDead: (error: AuthenticationError) => void;
    #timer?: ReturnType<typeof setTimeout>;
    #client?: NesClient;

    constructor(transport: Transport, onDead: (error: AuthenticationError) => void) {
        this.#transport = transport;
        this.#onDead = onDead;
    }

    /** Watches `client` (replacing any other). */
    start(client: NesClient): void {
        this.stop();
        this.#client = client;
        const { access, refresh } = this.#transport.tokens;
        const times = tokenTimes(access);
        if (!refresh || !times) {
            return;
        }

        const delay = Math.max(MIN_DELAY_MS, times.expiresAt - refreshMargin(times) - Date.now());
        this.#timer = setTimeout(() => void this.#renew(client, access), Math.min(delay, MAX_TIMER_MS));
    }

    stop(): void {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#client = undefined;
    }

    async #renew(client: NesClient, used: string | undefined): Promise<void> {
        try {
            await this.#transport.refreshAccess(used);
            if (client === this.#client) {
                await client.reauthenticate({ headers: { authorization: `Bearer ${this.#transport.tokens.access}` } });
                if (client === this.#client) {
                    this.start(client);
                }
            }
        }
        catch (err) {
            const error = realtimeError(err, this.#transport);
            if (client === this.#client && error instanceof AuthenticationError && error.code === 'session_expired') {
                this.#onDead(error);
            }
        }
    }
}
