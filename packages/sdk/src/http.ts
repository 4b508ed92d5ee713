import { AuthenticationError, CollabError, ConnectionError, errorForStatus, parseRetryAfter, type ErrorBody } from './errors.js';
import { isRetryable, isRetryableStatus, randomId, retryDelay, sleep } from './retry.js';
import type { WebSocketConstructor } from './realtime/nes.js';
import { expandPath, ROUTES, type PathParams, type RouteName } from './routes.js';
import type { IdempotentRequestOptions, TokenPair } from './types.js';

/** Options of `new CollabClient()`. */
export interface CollabClientOptions {
    /** The server, e.g. `http://127.0.0.1:8000` (a path prefix is kept). */
    baseUrl: string;
    /** Access token. */
    token?: string;
    /** Refresh token: with it, a 401 refreshes the access token once and retries. */
    refreshToken?: string;
    /** Called (and awaited) whenever the client gets new tokens: on login and on every refresh. */
    onTokens?: (tokens: TokenPair) => void | Promise<void>;
    /**
     * Wraps every refresh; by default the client calls `send(refreshToken)`. Presenting a rotated
     * refresh token ends the whole session, so processes that share saved tokens refresh under a
     * lock and return the tokens another process saved meanwhile instead of sending theirs.
     */
    refresh?: (refreshToken: string, send: (refreshToken: string) => Promise<TokenPair>) => Promise<TokenPair>;
    /** The `fetch` to use; the platform's by default. */
    fetch?: typeof globalThis.fetch;
    /** Retries of idempotent requests on 429, 5xx and network errors (default 2). */
    maxRetries?: number;
    /**
     * The WebSocket class `client.realtime`, `client.docs` and `jobs.wait` use. By default the platform's
     * (browsers, Node 22+), or on Node 20 the `ws` package's, loaded on first use.
     */
    WebSocket?: WebSocketConstructor;
}

/** Query string values; `undefined` ones are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** One call of the API. */
export interface ApiRequest {
    route: RouteName;
    params?: PathParams;
    query?: Query;
    body?: unknown;
    options?: IdempotentRequestOptions;
    /** A URL to call instead of the route's path and query (the next page of a list). */
    url?: string;
}

/** A successful response. */
export interface ApiResponse<T> {
    data: T;
    status: number;
    headers: Headers;
    /** The URL that was called. */
    url: string;
}

interface Raw {
    status: number;
    headers: Headers;
    body: unknown;
}

/** Sends requests: tokens, refresh on 401, retries with backoff, and errors as `CollabError`s. */
export class Transport {
    /** The server's base URL, without trailing slash. */
    readonly baseUrl: string;
    readonly #fetch: typeof globalThis.fetch;
    readonly #maxRetries: number;
    readonly #onTokens?: (tokens: TokenPair) => void | Promise<void>;
    readonly #refreshWith: NonNullable<CollabClientOptions['refresh']>;
    #access?: string;
    #refresh?: string;
    #refreshing?: Promise<void>;

    constructor(options: CollabClientOptions) {
        const url = new URL(options.baseUrl);
        this.baseUrl = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
        this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
        this.#maxRetries = Math.max(0, options.maxRetries ?? 2);
        this.#onTokens = options.onTokens;
        this.#refreshWith = options.refresh ?? ((refreshToken, send) => send(refreshToken));
        this.#access = options.token;
        this.#refresh = options.refreshToken;
    }

    /** The tokens the client holds now. */
    get tokens(): Partial<TokenPair> {
        return { access: this.#access, refresh: this.#refresh };
    }

    /**
     * Refreshes the access token unless it is no longer `usedToken` (someone refreshed already);
     * concurrent callers share one refresh. Throws an `AuthenticationError` when the session is dead.
     */
    async refreshAccess(usedToken: string | undefined): Promise<void> {
        if (!this.#refresh) {
            throw new AuthenticationError({ message: 'The access token was refused and there is no refresh token: log in again', status: 401, code: 'session_expired' });
        }

        await this.#refreshOnce(usedToken);
    }

    /** Removes the client's tokens (and the given secrets) from a text. */
    redact(text: string, secrets: string[] = []): string {
        return this.#redact(text, secrets);
    }

    /** Replaces the tokens; with `notify`, tells `onTokens`. */
    async setTokens(tokens: Partial<TokenPair>, notify = false): Promise<void> {
        this.#access = tokens.access;
        this.#refresh = tokens.refresh;
        if (notify && tokens.access && tokens.refresh) {
            await this.#onTokens?.({ access: tokens.access, refresh: tokens.refresh });
        }
    }

    /** The absolute URL of a route. */
    url(route: RouteName, params?: PathParams, query: Query = {}): string {
        const search = new URLSearchParams();
        for (const [key, value] of Object.entries(query)) {
            if (value !== undefined) {
                search.set(key, String(value));
            }
        }

        const qs = search.toString();
        return `${this.baseUrl}${expandPath(ROUTES[route].path, params)}${qs ? `?${qs}` : ''}`;
    }

    /** Sends one call, refreshing and retrying as needed. */
    async request<T>(request: ApiRequest): Promise<ApiResponse<T>> {
        const route: { method: string; auth?: false; idempotent?: true } = ROUTES[request.route];
        const { signal, headers: extra = {}, idempotencyKey: given } = request.options ?? {};
        const idempotencyKey = given ?? (route.idempotent ? randomId() : undefined);
        const url = request.url ?? this.url(request.route, request.params, request.query);
        const headers: Record<string, string> = { accept: 'application/json', ...extra };
        if (request.body !== undefined) {
            headers['content-type'] = 'application/json';
        }

        if (idempotencyKey !== undefined) {
            headers['idempotency-key'] = idempotencyKey;
        }

        const retryable = isRetryable(route.method, idempotencyKey);
        const body = request.body === undefined ? undefined : JSON.stringify(request.body);
        const secrets = secretsOf(request.body);
        let refreshed = false;
        for (let attempt = 0; ; ++attempt) {
            const token = route.auth === false ? undefined : this.#access;
            let raw: Raw;
            try {
                raw = await this.#send(url, { method: route.method, headers: token ? { ...headers, authorization: `Bearer ${token}` } : headers, body, signal });
            }
            catch (err) {
                if (signal?.aborted) {
                    throw signal.reason;
                }

                if (err instanceof CollabError) {
                    throw err;
                }

                if (retryable && attempt < this.#maxRetries) {
                    await sleep(retryDelay(attempt)!, signal);
                    continue;
                }

                throw new ConnectionError({ message: `Could not connect to the collab server at ${this.baseUrl}`, status: 0, code: 'connection_failed', cause: err });
            }

            if (raw.status < 400) {
                return { data: raw.body as T, status: raw.status, headers: raw.headers, url };
            }

            if (raw.status === 401 && route.auth !== false && !refreshed && this.#refresh) {
                refreshed = true;
                --attempt;
                await this.#refreshOnce(token);
                continue;
            }

            const error = errorForStatus(raw.status, asErrorBody(raw.body), raw.headers, (text) => this.#redact(text, secrets));
            if (retryable && attempt < this.#maxRetries && isRetryableStatus(raw.status)) {
                const delay = retryDelay(attempt, parseRetryAfter(raw.headers.get('retry-after')));
                if (delay !== null) {
                    await sleep(delay, signal);
                    continue;
                }
            }

            throw error;
        }
    }

    async #send(url: string, init: RequestInit): Promise<Raw> {
        const response = await this.#fetch(url, init);
        const text = await response.text();
        let body: unknown = text || undefined;
        if (text && (response.headers.get('content-type') ?? '').includes('json')) {
            try {
                body = JSON.parse(text);
            }
            catch {
                if (response.ok) {
                    throw new CollabError({ message: `The collab server at ${this.baseUrl} sent invalid JSON`, status: response.status, code: 'invalid_response' });
                }
            }
        }

        return { status: response.status, headers: response.headers, body };
    }

    /** Refreshes once for every request that saw a 401 with `usedToken`; concurrent callers share one refresh. */
    async #refreshOnce(usedToken: string | undefined): Promise<void> {
        if (this.#access !== usedToken) {
            return;                                         // another request refreshed already
        }

        this.#refreshing ??= this.#doRefresh().finally(() => {
            this.#refreshing = undefined;
        });
        await this.#refreshing;
    }

    async #doRefresh(): Promise<void> {
        try {
            const send = async (refresh: string) => (await this.request<TokenPair>({ route: 'auth.refresh', body: { refresh } })).data;
            await this.setTokens(await this.#refreshWith(this.#refresh!, send), true);
        }
        catch (err) {
            if (err instanceof AuthenticationError) {
                this.#refresh = undefined;                  // dead: presenting it again would revoke its whole family
                throw new AuthenticationError({ message: 'The session has expired: log in again', status: 401, code: 'session_expired', requestId: err.requestId });
            }

            throw err;
        }
    }

    #redact(text: string, secrets: string[]): string {
        let result = text;
        for (const secret of [this.#access, this.#refresh, ...secrets]) {
            if (secret && secret.length >= 8) {
                result = result.split(secret).join('[redacted]');
            }
        }

        return result;
    }
}

function asErrorBody(body: unknown): ErrorBody {
    if (body && typeof body === 'object' && !Array.isArray(body)) {
        return body as ErrorBody;
    }

    return typeof body === 'string' ? { message: body.slice(0, 500) } : {};
}

function secretsOf(body: unknown): string[] {
    if (!body || typeof body !== 'object') {
        return [];
    }

    const { password, refresh, access } = body as Record<string, unknown>;
    return [password, refresh, access].filter((value): value is string => typeof value === 'string');
}
