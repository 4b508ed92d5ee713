import { CollabClient, type TokenPair } from '@collab/sdk';

import { ConfigStore } from './config.js';
import { CliError, UsageError, type Situation } from './errors.js';

/** The server used when none is given or remembered (the server's default HOST and PORT). */
export const DEFAULT_SERVER = 'http://127.0.0.1:8000';

/** Options every command accepts. */
export interface GlobalOptions {
    server?: string;
    json?: boolean;
}

/** `http://host:port[/prefix]` without trailing slash: the key credentials are saved under. */
export function normalizeServer(raw: string): string {
    let url: URL;
    try {
        url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
    }
    catch {
        throw new UsageError(`Invalid server URL: ${raw}`);
    }

    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new UsageError(`Invalid server URL: ${raw} (use http:// or https://)`);
    }

    return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** What a command works with: the server, the output mode, the saved credentials and an SDK client. */
export class Context {
    readonly server: string;
    readonly json: boolean;
    readonly store: ConfigStore;
    #client?: CollabClient;

    constructor(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env) {
        this.json = options.json === true;
        this.store = new ConfigStore();
        this.server = normalizeServer(options.server ?? (env.COLLAB_SERVER || undefined) ?? this.store.settings().server ?? DEFAULT_SERVER);
    }

    /** Where the credentials come from. */
    get credentials(): Situation['credentials'] {
        return process.env.COLLAB_TOKEN ? 'env' : this.store.login(this.server) ? 'saved' : 'none';
    }

    /** A client signed in with `COLLAB_TOKEN` or the saved login; refreshed tokens are saved back. */
    client(): CollabClient {
        if (this.#client) {
            return this.#client;
        }

        const envToken = process.env.COLLAB_TOKEN;
        const saved = envToken ? undefined : this.store.login(this.server);
        if (!envToken && !saved) {
            throw new CliError(`You are not logged in to ${this.server}: run collab login`);
        }

        this.#client = new CollabClient({
            baseUrl: this.server,
            token: envToken ?? saved!.access,
            refreshToken: saved?.refresh,
            refresh: saved && ((held, send) => this.#refreshSaved(saved.user_id, held, send))
        });
        return this.#client;
    }

    /**
     * Refreshes the saved login, one collab process at a time: one that finds the tokens refreshed
     * by another since it read them takes those, as presenting a rotated refresh token ends the session.
     */
    #refreshSaved(userId: number, held: string, send: (refresh: string) => Promise<TokenPair>): Promise<TokenPair> {
        return this.store.locked(async () => {
            const saved = this.store.login(this.server);
            if (saved?.user_id === userId && saved.refresh !== held) {
                return { access: saved.access, refresh: saved.refresh };
            }

            const tokens = await send(held);
            this.store.saveTokens(this.server, tokens);
            return tokens;
        });
    }

    /** A client without credentials (for logging in). */
    anonymousClient(): CollabClient {
        return new CollabClient({ baseUrl: this.server });
    }

    /** Whether spinners show: on a terminal, never with `--json`. */
    get interactive(): boolean {
        return !this.json && process.stderr.isTTY === true && !!process.stderr.columns;
    }

    /** Runs `work` under a spinner on stderr, shown only on a terminal and never with `--json`; `work` may change its text. */
    async spin<T>(text: string, work: (setText: (text: string) => void) => Promise<T>): Promise<T> {
        if (!this.interactive) {
            return work(() => undefined);
        }

        const { default: ora } = await import('ora');      // loaded only on a terminal: it costs ~100 ms
        const spinner = ora({ text, stream: process.stderr, discardStdin: false }).start();
        try {
            return await work((next) => void (spinner.text = next));
        }
        finally {
            spinner.stop();
        }
    }
}
