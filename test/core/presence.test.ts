import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';

import type { EventEnvelope } from '@collab/sdk';
import { Redis } from 'ioredis';

import { EventBus, Presence, type PresenceOptions } from '../../packages/core/src/bus/index.js';
import { presenceKeys } from '../../packages/core/src/bus/keys.js';
import { REDIS_URL, testPrefix } from '../helpers/config.js';
import { cleanRedis } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const prefix = testPrefix();
const connections: Redis[] = [];
const buses: EventBus[] = [];
const presences: Presence[] = [];
const admin = connect();
let nextWorkspace = 1;

function connect(): Redis {
    const redis = new Redis(REDIS_URL);
    connections.push(redis);
    return redis;
}

async function instance(options: Omit<PresenceOptions, 'bus'> = {}): Promise<{ bus: EventBus; presence: Presence }> {
    const bus = new EventBus({ redis: connect(), subscriber: connect(), prefix, instanceId: `test-${randomUUID()}` });
    const presence = new Presence({ bus, ...options });
    buses.push(bus);
    presences.push(presence);
    await presence.start();
    return { bus, presence };
}

async function watch(bus: EventBus, workspaceId: number): Promise<EventEnvelope[]> {
    const events: EventEnvelope[] = [];
    await bus.subscribe(workspaceId, (envelope) => events.push(envelope)).ready;
    return events;
}

function summary(events: EventEnvelope[]): [string, number, unknown][] {
    return events.map((event) => [event.event, event.user_id, event.payload]);
}

const ann = { user_id: 1, user: 'ann@example.com' };
const bob = { user_id: 2, user: 'bob@example.com' };

after(async () => {
    for (const presence of presences) {
        presence.stop();
    }

    for (const bus of buses) {
        await bus.close();
    }

    await cleanRedis(prefix);

    await Promise.all(connections.map((redis) => redis.quit()));
});

describe('Presence', () => {
    it('reports only a user\'s first join and last leave across instances, and publishes just those', async () => {
        const a = await instance();
        const b = await instance();
        const id = nextWorkspace++;
        const events = await watch(b.bus, id);

        assert.equal(await a.presence.join(id, ann), true);
        assert.equal(await b.presence.join(id, ann), false);
        assert.equal(await a.presence.join(id, ann), false);
        assert.deepEqual((await a.presence.list(id)).map(({ user_id, connections }) => [user_id, connections]), [[1, 3]]);

        assert.equal(await a.presence.leave(id, ann), false);
        assert.equal(await b.presence.leave(id, ann), false);
        assert.equal(await a.presence.leave(id, ann), true);
        assert.deepEqual(await b.presence.list(id), []);

        await until(() => events.length === 2);
        assert.deepEqual(summary(events), [['presence.join', 1, { connections: 1 }], ['presence.leave', 1, { connections: 0 }]]);
        assert.equal(events[0]!.user, 'ann@example.com');
        assert.equal(events[0]!.seq, undefined);
        assert.deepEqual((await a.bus.history(id)).events, []);
    });

    it('lists each present user with connections and since, earliest first', async () => {
        const a = await instance();
        const b = await instance();
        const id = nextWorkspace++;
        const start = new Date().toISOString();
        await a.presence.join(id, bob);
        await new Promise((resolve) => setTimeout(resolve, 5));
        await b.presence.join(id, ann);
        await b.presence.join(id, bob);

        const list = await a.presence.list(id);
        assert.deepEqual(list.map(({ user_id, user, connections }) => ({ user_id, user, connections })), [
            { user_id: 2, user: 'bob@example.com', connections: 2 },
            { user_id: 1, user: 'ann@example.com', connections: 1 }
        ]);
        assert.ok(list.every((entry) => entry.since >= start));
        assert.ok(list[0]!.since < list[1]!.since);
    });

    it('ignores leave() for a connection this instance never counted', async () => {
        const a = await instance();
        const b = await instance();
        const id = nextWorkspace++;
        await a.presence.join(id, ann);
        assert.equal(await b.presence.leave(id, ann), false);
        assert.deepEqual((await b.presence.list(id)).map((entry) => entry.connections), [1]);
    });

    it('drops a dead instance\'s connections from list() and sweeps its users out with presence.leave', async () => {
        const sweepIntervalMs = 200;
        const heartbeatTtlMs = 800;
        const a = await instance({ sweepIntervalMs });
        const b = await instance({ heartbeatTtlMs, heartbeatIntervalMs: 200 });
        const id = nextWorkspace++;
        const events = await watch(a.bus, id);
        await a.presence.join(id, ann);
        await b.presence.join(id, ann);
        await b.presence.join(id, bob);
        await until(() => events.length === 2);

        b.presence.stop();
        const died = Date.now();
        await until(async () => (await a.presence.list(id)).length === 1);
        assert.deepEqual((await a.presence.list(id)).map(({ user_id, connections }) => [user_id, connections]), [[1, 1]]);

        await until(() => events.length === 3);
        // A dead instance is swept once its heartbeat expires, at the next sweep (slack for a loaded machine).
        const bound = heartbeatTtlMs + sweepIntervalMs + 3000;
        assert.ok(Date.now() - died < bound, `swept ${Date.now() - died} ms after the instance died, over ${bound} ms`);
        assert.deepEqual(summary(events), [
            ['presence.join', 1, { connections: 1 }],
            ['presence.join', 2, { connections: 1 }],
            ['presence.leave', 2, { connections: 0 }]
        ]);
        assert.equal(events[2]!.user, 'bob@example.com');
        // Each life of an instance is listed as `instanceId.N`.
        await until(async () => !(await admin.smembers(presenceKeys(prefix).instances)).some((member) => member.startsWith(`${b.bus.instanceId}.`)));

        // Ann's other connection is still open: her last leave comes from A.
        assert.equal(await a.presence.leave(id, ann), true);
    });

    it('counts an instance\'s connections again when it comes back after being swept', async () => {
        const a = await instance({ sweepIntervalMs: 200 });
        const b = await instance({ heartbeatTtlMs: 800, heartbeatIntervalMs: 200 });
        const id = nextWorkspace++;
        const events = await watch(a.bus, id);
        await b.presence.join(id, bob);
        b.presence.stop();
        await until(() => events.length === 2);

        await b.presence.start();
        await until(() => events.length === 3);
        assert.deepEqual(summary(events).map(([event]) => event), ['presence.join', 'presence.leave', 'presence.join']);
        assert.deepEqual((await a.presence.list(id)).map(({ user_id, connections }) => [user_id, connections]), [[2, 1]]);
        assert.equal(await b.presence.leave(id, bob), true);
    });
});
