import { AuthenticationError, CollabClient, type TokenPair, type User } from '@collab/sdk';

/** Where the refresh token is kept between reloads of one tab (see the README: "Tokens in the browser"). */
const REFRESH_KEY = 'collab.refresh';

/** What the sign-in form says when the server ended the session. */
export const EXPIRED = 'Your session has expired. Sign in again to carry on.';

/** Refresh this long before the access token expires. */
const REFRESH_AHEAD_MS = 60_000;

/** How long to wait before trying a refresh again when the server could not be reached. */
const RETRY_DELAY_MS = 15_000;

/** Never refresh more often than this, whatever the token's lifetime. */
const MIN_REFRESH_DELAY_MS = 5_000;

/**
 * The signed-in user's session: the access token in memory only, the refresh token in the tab's
 * `sessionStorage` so a reload keeps the session, and a timer that refreshes the access token
 * before it expires. `onExpired` is told when the server refuses the session.
 */
export class Session {
    /** The client of the current session (a fresh one after each sign-out). */
    client: CollabClient;
    /** The signed-in user, once signed in. */
    user?: User;
    readonly #baseUrl: string;
    readonly #onExpired: (message: string) => void;
    #timer?: ReturnType<typeof setTimeout>;
    #inflight?: { token: string; result: Promise<TokenPair> };

    constructor(baseUrl: string, onExpired: (message: string) => void) {
        this.#baseUrl = baseUrl;
        this.#onExpired = onExpired;
        this.client = this.#newClient();
    }

    /** Resumes the session a reload left behind: `none` when there was none, `expired` when the server refused it. */
    async restore(): Promise<'restored' | 'none' | 'expired'> {
        const refresh = sessionStorage.getItem(REFRESH_KEY);
        if (!refresh) {
            return 'none';
        }

        try {
            await this.client.auth.refresh(refresh);
            this.user = await this.client.auth.me();
            return 'restored';
        }
        catch (err) {
            if (err instanceof AuthenticationError) {
                this.#forget();
                return 'expired';
            }

            throw err;
        }
    }

    /** Signs in with an email and a password. */
    async signIn(email: string, password: string): Promise<void> {
        await this.client.auth.login({ email, password });
        this.user = await this.client.auth.me();
    }

    /** Creates an account, then signs in with it. */
    async register(email: string, password: string, name?: string): Promise<void> {
        await this.client.auth.register({ email, password, name });
        await this.signIn(email, password);
    }

    /** Revokes the refresh token on the server (best effort) and forgets everything. */
    async signOut(): Promise<void> {
        const old = this.client;
        this.#forget();
        await old.realtime.close().catch(() => undefined);
        if (old.tokens.refresh) {
            await old.auth.logout().catch(() => undefined);
        }
    }

    /** Gets a new access token now; a refresh already under way with the same token is joined, not repeated. */
    async #refreshNow(): Promise<void> {
        const { refresh } = this.client.tokens;
        if (!refresh) {
            return;
        }

        const client = this.client;
        try {
            await this.#once(refresh, (token) => client.auth.refresh(token));
        }
        catch (err) {
            this.#failed(err);
        }
    }

    /** Tells the session a request failed: a dead session ends it. True when it did. */
    ended(err: unknown): boolean {
        if (err instanceof AuthenticationError && err.code !== 'unauthorized') {
            this.#expire();
            return true;
        }

        return false;
    }

    #newClient(): CollabClient {
        const client: CollabClient = new CollabClient({
            baseUrl: this.#baseUrl,
            refresh: (token, send) => this.#once(token, send),
            onTokens: (tokens) => {
                if (client === this.client) {
                    this.#saved(tokens);             // a signed-out client's late refresh is not kept
                }
            }
        });
        return client;
    }

    /**
     * Sends one refresh per refresh token. The page refreshes on its timer and the SDK on its own
     * (a 401, the live socket's renewal); presenting a token twice would revoke the whole login.
     */
    #once(token: string, send: (token: string) => Promise<TokenPair>): Promise<TokenPair> {
        if (this.#inflight?.token === token) {
            return this.#inflight.result;
        }

        const result = send(token);
        const inflight = this.#inflight = { token, result };
        void result.catch(() => undefined).finally(() => {
            if (this.#inflight === inflight) {
                this.#inflight = undefined;
            }
        });
        return result;
    }

    #saved(tokens: TokenPair): void {
        sessionStorage.setItem(REFRESH_KEY, tokens.refresh);
        clearTimeout(this.#timer);
        const expires = expiresAt(tokens.access);
        const delay = Math.max(MIN_REFRESH_DELAY_MS, expires - Date.now() - Math.min(REFRESH_AHEAD_MS, (expires - Date.now()) / 5));
        this.#timer = setTimeout(() => void this.#refreshNow(), delay);
    }

    #failed(err: unknown): void {
        if (err instanceof AuthenticationError) {
            this.#expire();
            return;
        }

        clearTimeout(this.#timer);                          // the server could not be reached: try again soon
        this.#timer = setTimeout(() => void this.#refreshNow(), RETRY_DELAY_MS);
    }

    #expire(): void {
        if (!this.user) {
            return;
        }

        const old = this.client;
        this.#forget();
        void old.realtime.close().catch(() => undefined);
        this.#onExpired(EXPIRED);
    }

    #forget(): void {
        clearTimeout(this.#timer);
        sessionStorage.removeItem(REFRESH_KEY);
        this.user = undefined;
        this.client = this.#newClient();
    }
}

/** When a JWT expires (ms since the epoch); soon when it cannot be read. */
function expiresAt(token: string): number {
    try {
        const claims = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number };
        return typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now();
    }
    catch {
        return Date.now();
    }
}
