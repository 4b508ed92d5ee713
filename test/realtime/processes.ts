import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';

import { GLIBC_TUNABLES } from '@collab/server';

import { run } from '../helpers/process.js';
import { until } from '../helpers/wait.js';
import type { RealtimeServer, User } from './helpers.js';

const FIXTURE = new URL('../fixtures/realtime-server.ts', import.meta.url).pathname;

/** A collab server in a child process (test/fixtures/realtime-server.ts). */
export interface Instance extends Pick<RealtimeServer, 'http' | 'user'> {
    port: number;
    instance: string;
    child: ChildProcess;
    /** SIGTERM, then waits for the exit. */
    stop(): Promise<void>;
    /** SIGKILL, then waits for the exit. */
    kill(): Promise<void>;
}

/**
 * The environment two instances share: one database, one Redis prefix, one secret, and the malloc
 * settings `collab-server` runs with. No worker runs with them (job rows a test needs are written to
 * the database), so the sandbox settings keep their defaults.
 */
export function clusterEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        GLIBC_TUNABLES,
        NODE_ENV: 'test',
        DATABASE_URL: databaseUrl,
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        REDIS_PREFIX: `collab-test-${randomUUID().slice(0, 8)}:`,
        JWT_SECRET: randomBytes(32).toString('hex'),
        LOG_LEVEL: 'silent',
        RATE_LIMIT_USER: '1000000',
        RATE_LIMIT_IP: '1000000',
        RATE_LIMIT_AUTH: '1000000',
        ...extra
    };
}

/** Starts an instance and resolves once it listens. */
export async function startInstance(env: Record<string, string>, nodeArgs: string[] = []): Promise<Instance> {
    const started = run(process.execPath, [...nodeArgs, '--conditions=source', '--import', 'tsx', FIXTURE], { env: { ...process.env, ...env } });
    const child = started.process;
    const line = await until(() => {
        if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`instance exited with ${child.exitCode ?? child.signalCode}: ${started.stderr()}`);
        }

        return started.stdout().includes('\n') && started.lines()[0];
    }, 60_000, 'the instance to listen', started.stderr);
    const { port, instance } = JSON.parse(line) as { port: number; instance: string };

    const http: Instance['http'] = async (method, url, token, payload) => {
        const res = await fetch(`http://127.0.0.1:${port}${url}`, {
            method,
            headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
            body: payload === undefined ? undefined : JSON.stringify(payload)
        });
        const text = await res.text();
        return { statusCode: res.status, result: text ? JSON.parse(text) : null, headers: Object.fromEntries(res.headers) };
    };

    const user = async (name = 'user'): Promise<User> => {
        const email = `${name}-${randomUUID().slice(0, 8)}@example.com`;
        const password = 'correct horse battery';
        const registered = await http('POST', '/api/auth/register/', undefined, { email, password, name });
        const login = await http('POST', '/api/auth/login/', undefined, { email, password });
        return { id: (registered.result as { id: number }).id, email, ...(login.result as { access: string; refresh: string }) };
    };

    const signal = async (name: NodeJS.Signals) => {
        if (child.exitCode === null && child.signalCode === null) {
            child.kill(name);
        }

        await started.exited;
    };

    return { port, instance, child, http, user, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}
