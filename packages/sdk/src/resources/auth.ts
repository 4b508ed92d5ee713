import type { Transport } from '../http.js';
import type { LoginParams, RegisterParams, RequestOptions, TokenPair, User } from '../types.js';

/** `client.auth`: accounts and sessions. */
export class AuthResource {
    readonly #transport: Transport;

    constructor(transport: Transport) {
        this.#transport = transport;
    }

    /** Creates an account (409 `ConflictError` when the email is taken). Does not log in. */
    async register(params: RegisterParams, options?: RequestOptions): Promise<User> {
        return (await this.#transport.request<User>({ route: 'auth.register', body: params, options })).data;
    }

    /** Logs in and keeps the tokens in the client (and tells `onTokens`). */
    async login(params: LoginParams, options?: RequestOptions): Promise<TokenPair> {
        const { data } = await this.#transport.request<TokenPair>({ route: 'auth.login', body: params, options });
        await this.#transport.setTokens(data, true);
        return data;
    }

    /**
     * Rotates the refresh token (the client's, unless one is given) and keeps the new pair.
     * The presented token dies; presenting it again revokes every token of its login.
     */
    async refresh(refreshToken?: string, options?: RequestOptions): Promise<TokenPair> {
        const refresh = refreshToken ?? this.#transport.tokens.refresh;
        if (!refresh) {
            throw new TypeError('No refresh token: log in first');
        }

        const { data } = await this.#transport.request<TokenPair>({ route: 'auth.refresh', body: { refresh }, options });
        await this.#transport.setTokens(data, true);
        return data;
    }

    /** Revokes the refresh token (the client's, unless one is given) and forgets the client's tokens. */
    async logout(refreshToken?: string, options?: RequestOptions): Promise<void> {
        const refresh = refreshToken ?? this.#transport.tokens.refresh;
        if (!refresh) {
            throw new TypeError('No refresh token: log in first');
        }

        await this.#transport.request<void>({ route: 'auth.logout', body: { refresh }, options });
        if (refresh === this.#transport.tokens.refresh) {
            await this.#transport.setTokens({});
        }
    }

    /** The signed-in user. */
    async me(options?: RequestOptions): Promise<User> {
        return (await this.#transport.request<User>({ route: 'auth.me', options })).data;
    }
}
