// The Hocuspocus 4 server process of the documents bench (bench/docs.ts): the anchor, with its Redis
// extension on REDIS_URL and no persistence, on 127.0.0.1 and port 0; prints {"port", "pid"} once
// listening. With --expose-gc, POST /_bench/gc collects garbage and answers the process's memory
// and CPU, as the collab server process does (test/fixtures/realtime-server.ts).
import { getHeapStatistics } from 'node:v8';

import { Redis } from '@hocuspocus/extension-redis';
import { Server } from '@hocuspocus/server';

const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const server = new Server({
    port: 0,
    address: '127.0.0.1',
    quiet: true,
    extensions: [new Redis({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379), prefix: process.env.REDIS_PREFIX ?? 'hocuspocus' })],
    onRequest({ request, response }) {
        const gc = globalThis.gc;
        if (request.url !== '/_bench/gc' || request.method !== 'POST' || !gc) {
            return Promise.resolve();
        }

        gc();
        gc();
        const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ rss, heapUsed, external, arrayBuffers, heapPhysical: getHeapStatistics().total_physical_size, cpu: process.cpuUsage() }));
        return Promise.reject(null);                    // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors -- Hocuspocus: an empty rejection stops its default answer
    }
});
await server.listen();
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void server.destroy().finally(() => process.exit(0)));
}

process.stdout.write(JSON.stringify({ port: server.address.port, pid: process.pid }) + '\n');
