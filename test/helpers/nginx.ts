import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort, run, type Child } from './process.js';
import { until } from './wait.js';

/** The nginx site deploy/ ships. */
export const SITE = new URL('../../deploy/nginx/collab.conf', import.meta.url).pathname;

/**
 * A private nginx of one test in front of the given instance ports, serving
 * deploy/nginx/collab.conf as shipped except for its listen port and its
 * upstream servers: `nginx -p DIR -c nginx.conf -g 'daemon off;'` on a free
 * port, a child process the test owns, never the system's nginx.
 */
export class Nginx {
    private constructor(readonly dir: string, readonly port: number, private readonly child: Child) {}

    static async start(upstreams: readonly number[]): Promise<Nginx> {
        const dir = await mkdtemp(join(tmpdir(), 'collab-nginx-'));
        const port = await freePort();
        const shipped = await readFile(SITE, 'utf8');
        const site = shipped
            .replace(/^\s*listen 80( [^;]*)?;$/m, (_line, options = '') => `    listen 127.0.0.1:${port}${options};`)
            .replace(/^(\s*)server 127\.0\.0\.1:8001 (.*)$/m, (_line, indent: string, rest: string) => upstreams.map((upstream) => `${indent}server 127.0.0.1:${upstream} ${rest}`).join('\n'))
            .replace(/^\s*server 127\.0\.0\.1:800[23] .*\n/gm, '');
        if (!site.includes(`listen 127.0.0.1:${port}`) || !site.includes(`127.0.0.1:${upstreams[0]}`)) {
            throw new Error(`${SITE} no longer has the listen and upstream lines this helper rewrites`);
        }

        await writeFile(join(dir, 'collab.conf'), site);
        await writeFile(join(dir, 'nginx.conf'), [
            'worker_processes 1;',
            `pid ${dir}/nginx.pid;`,
            `error_log ${dir}/error.log warn;`,
            ...process.getuid?.() === 0 ? ['user root;'] : [],
            'events { worker_connections 16384; }',
            'http {',
            '    access_log off;',
            ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((name) => `    ${name}_temp_path ${dir}/${name};`),
            `    include ${dir}/collab.conf;`,
            '}'
        ].join('\n'));
        const child = run('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
        const nginx = new Nginx(dir, port, child);
        try {
            await until(async () => {
                if (child.process.exitCode !== null) {
                    throw new Error(`nginx exited: ${child.stderr()}${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`);
                }

                try {
                    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
                }
                catch {
                    return false;
                }
            }, 15_000, 'nginx to answer');
        }
        catch (err) {
            await nginx.stop();
            throw err;
        }

        return nginx;
    }

    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    /** Stops nginx (fast shutdown: SIGTERM to its master, by PID) and removes its directory. */
    async stop(): Promise<void> {
        if (this.child.process.exitCode === null && this.child.process.signalCode === null) {
            this.child.process.kill('SIGTERM');
            const timer = setTimeout(() => this.child.process.kill('SIGKILL'), 5_000);
            await this.child.exited;
            clearTimeout(timer);
        }

        await rm(this.dir, { recursive: true, force: true });
    }
}
