// The collab server process of the soak benchmark (bench/soak.ts): configured from the environment like
// `collab-server start`, on 127.0.0.1 and port 0. It measures itself, so the clients' work does not
// pollute the figures: on the IPC message {type: 'stats'} it answers with its RSS, the event-loop delay
// since the last {type: 'reset-lag'}, its active resources, listener counts and the hub's state.
import type { EventEmitter } from 'node:events';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { loadConfig } from '@collab/core';
import { createServer } from '@collab/server';

import { installShutdown } from '../packages/server/src/shutdown.js';

const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', ...process.env });
const server = await createServer({ config });
installShutdown(server, { timeoutMs: 5_000 });
await server.start();

const RESOLUTION_MS = 10;
const lag = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
lag.enable();
const window = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
window.enable();

const listeners = (emitter: EventEmitter | undefined): number => emitter ? emitter.eventNames().reduce((sum, name) => sum + emitter.listenerCount(name), 0) : 0;
// The histogram records whole timer periods: the delay is what exceeds the resolution.
const ms = (ns: number) => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);

function stats() {
    const realtime = server.plugins['collab-realtime'];
    const hub = realtime.hub as unknown as { topics: Map<number, unknown>; users: Map<number, unknown>; resumed: Map<unknown, unknown> };
    const bus = server.app.bus as unknown as { subscriber: EventEmitter; redis: EventEmitter; topics: Map<string, unknown> };
    const resources: Record<string, number> = {};
    for (const name of process.getActiveResourcesInfo()) {
        resources[name] = (resources[name] ?? 0) + 1;
    }

    const { rss, heapUsed, external } = process.memoryUsage();
    const result = {
        rss,
        heapUsed,
        external,
        lagMs: { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) },
        windowLagMs: { p50: ms(window.percentile(50)), p99: ms(window.percentile(99)), max: ms(window.max) },
        sockets: realtime.sockets(),
        hub: { connections: realtime.hub.connections().length, topics: hub.topics.size, users: hub.users.size, resumed: hub.resumed.size },
        busTopics: bus.topics.size,
        resources,
        listeners: {
            process: listeners(process),
            httpListener: listeners(server.listener),
            busSubscriber: listeners(bus.subscriber),
            busCommands: listeners(bus.redis),
            redis: listeners(server.app.redis)
        }
    };
    window.reset();
    return result;
}

process.on('message', (message: { type: string }) => {
    if (message.type === 'stats') {
        process.send!({ type: 'stats', stats: stats() });
    }
    else if (message.type === 'reset-lag') {
        lag.reset();
        window.reset();
        process.send!({ type: 'reset-lag' });
    }
});

process.send!({ type: 'listening', port: server.info.port, instance: server.app.instanceId });
