import { spawn, type ChildProcess } from 'node:child_process';

import { Redis } from 'ioredis';

import { freePort } from './process.js';
import { until } from './wait.js';

/** A throwaway redis-server of one test file, for outages: it can be stopped and started again on the same port. */
export class RedisServer {
    #child?: ChildProcess;

    private constructor(readonly port: number) {}

    /** A free port where no Redis runs yet: `url` points at a dead port until `start()`. */
    static async reserve(): Promise<RedisServer> {
        return new RedisServer(await freePort());
    }

    get url(): string {
        return `redis://127.0.0.1:${this.port}`;
    }

    /** Starts redis-server on `port` (nothing when it runs already) and waits until it answers. */
    async start(): Promise<void> {
        if (this.#child) {
            return;
        }

        this.#child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
        await until(async () => {
            const client = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null });
            client.on('error', () => {});
            try {
                await client.connect();
                return (await client.ping()) === 'PONG';
            }
            catch {
                return false;
            }
            finally {
                client.disconnect();
            }
        }, 10_000, 'redis-server to answer');
    }

    /** Freezes this redis-server (SIGSTOP): connections stay open and nothing answers, as when Redis hangs. */
    pause(): void {
        this.#child?.kill('SIGSTOP');
    }

    /** Lets a paused redis-server go on (SIGCONT). */
    resume(): void {
        this.#child?.kill('SIGCONT');
    }

    /** Stops this redis-server (by its PID) and waits until it is gone. */
    async stop(): Promise<void> {
        const child = this.#child;
        this.#child = undefined;
        if (child && child.exitCode === null) {
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGTERM');
            await exited;
        }
    }
}
