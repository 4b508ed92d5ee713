import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

import { CliError } from './errors.js';
import { withFileLock } from './file-lock.js';

/** What `collab login` keeps for one server. */
export interface SavedLogin {
    email: string;
    user_id: number;
    access: string;
    refresh: string;
    /** ISO 8601: when the tokens were last written. */
    updated_at: string;
}

/** `config.json`: settings that are not secret. */
export interface Settings {
    /** The default server, remembered by `collab login`. */
    server?: string;
}

interface Credentials {
    servers: Record<string, SavedLogin>;
}

/** `$XDG_CONFIG_HOME/collab`, or `~/.config/collab` (XDG ignores a relative `XDG_CONFIG_HOME`). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
    const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
    return join(base, 'collab');
}

/**
 * The CLI's files: `config.json` (default server) and `credentials.json` (tokens keyed by
 * server URL). The directory is mode 0700 and every file in it 0600.
 */
export class ConfigStore {
    readonly dir: string;

    constructor(dir = configDir()) {
        this.dir = dir;
    }

    /** The saved settings. */
    settings(): Settings {
        return this.#read<Settings>('config.json') ?? {};
    }

    /** Remembers the default server. */
    setDefaultServer(server: string): void {
        this.#write('config.json', { ...this.settings(), server });
    }

    /** The login saved for a server. */
    login(server: string): SavedLogin | undefined {
        return this.#credentials().servers[server];
    }

    /** Saves (or replaces) the login of a server. */
    saveLogin(server: string, login: Omit<SavedLogin, 'updated_at'>): void {
        const credentials = this.#credentials();
        credentials.servers[server] = { ...login, updated_at: new Date().toISOString() };
        this.#write('credentials.json', credentials);
    }

    /** Saves refreshed tokens of a server's login. */
    saveTokens(server: string, tokens: { access: string; refresh: string }): void {
        const login = this.login(server);
        if (login) {
            this.saveLogin(server, { ...login, ...tokens });
        }
    }

    /** Forgets a server's login; true when there was one. */
    removeLogin(server: string): boolean {
        const credentials = this.#credentials();
        if (!credentials.servers[server]) {
            return false;
        }

        delete credentials.servers[server];
        this.#write('credentials.json', credentials);
        return true;
    }

    /** Runs `work` while no other collab process of this user runs its own (`credentials.lock`). */
    async locked<T>(work: () => Promise<T>): Promise<T> {
        this.#makeDir();
        return withFileLock(join(this.dir, 'credentials.lock'), work);
    }

    #credentials(): Credentials {
        const credentials = this.#read<Credentials>('credentials.json');
        return { servers: { ...credentials?.servers } };
    }

    #read<T>(name: string): T | undefined {
        const file = join(this.dir, name);
        let text: string;
        try {
            text = readFileSync(file, 'utf8');
        }
        catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
                return undefined;
            }

            throw new CliError(`Cannot read ${file}: ${(err as Error).message}.`);
        }

        try {
            return JSON.parse(text) as T;
        }
        catch {
            throw new CliError(`${file} is not valid JSON: fix or delete it.`);
        }
    }

    #makeDir(): void {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        chmodSync(this.dir, 0o700);
    }

    #write(name: string, value: unknown): void {
        this.#makeDir();
        const file = join(this.dir, name);
        const temp = `${file}.${process.pid}.tmp`;
        writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
        chmodSync(temp, 0o600);
        renameSync(temp, file);
    }
}
