import { randomUUID } from 'node:crypto';

import type { EventEnvelope } from '@collab/sdk';
import { Redis } from 'ioredis';

import { EventBus, type EventBusOptions, type Unsubscribe } from '../../packages/core/src/bus/index.js';
import { busKeys } from '../../packages/core/src/bus/keys.js';
import { REDIS_URL, testPrefix } from './config.js';
import { cleanRedis } from './server.js';
import { until } from './wait.js';

/** The sender of the events tests publish. */
export const sender = { user: 'ann@example.com', user_id: 7 };

export function seqs(events: EventEnvelope[]): number[] {
    return events.map((event) => event.seq!);
}

export function range(from: number, to: number): number[] {
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Waits until `condition` holds (see {@link until}), 5 s at most: bus deliveries take milliseconds. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
    await until(condition, timeoutMs);
}

/** Event buses of one test file on real Redis, under its own key prefix; `close()` ends them and removes the keys. */
export function busFixture() {
    const prefix = testPrefix();
    const keys = busKeys(prefix);
    const connections: Redis[] = [];
    const buses: EventBus[] = [];
    let nextWorkspace = 1;

    const connect = (): Redis => {
        const redis = new Redis(REDIS_URL);
        connections.push(redis);
        return redis;
    };

    const admin = connect();

    return {
        prefix,
        keys,
        admin,
        connect,
        /** How many instances are subscribed: every bus listens on the control channel. */
        get instances(): number {
            return buses.length;
        },
        makeBus(options: Partial<EventBusOptions> = {}): EventBus {
            const bus = new EventBus({ redis: connect(), subscriber: connect(), prefix, instanceId: `test-${randomUUID()}`, ...options });
            buses.push(bus);
            return bus;
        },
        /** A workspace id no other test of the file uses. */
        workspace(): number {
            return nextWorkspace++;
        },
        collect(bus: EventBus, workspaceId: number): { events: EventEnvelope[]; jsons: string[]; stop: Unsubscribe } {
            const events: EventEnvelope[] = [];
            const jsons: string[] = [];
            const stop = bus.subscribe(workspaceId, (envelope, json) => {
                events.push(envelope);
                jsons.push(json);
            });
            return { events, jsons, stop };
        },
        /** The bus channels Redis has subscribers on, sorted. */
        async channels(): Promise<string[]> {
            return (await admin.pubsub('CHANNELS', `${prefix}*`) as string[]).sort();
        },
        async subscribers(channel: string): Promise<number> {
            const reply = await admin.pubsub('NUMSUB', channel) as [string, number];
            return Number(reply[1]);
        },
        async close(): Promise<void> {
            for (const bus of buses) {
                await bus.close();
            }

            await cleanRedis(prefix);
            await Promise.all(connections.map((redis) => redis.quit()));
        }
    };
}
