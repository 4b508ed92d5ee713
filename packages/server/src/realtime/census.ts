import type { Server } from '@hapi/hapi';

const INTERVAL_MS = 3_000;
const TTL_MS = 10_000;

// One hash tag, so the set and the counts are written and read in one command on a cluster too.
function keys(prefix: string) {
    return {
        instances: `${prefix}realtime:{sockets}`,
        count: (instanceId: string) => `${prefix}realtime:{sockets}:${instanceId}`
    };
}

/**
 * Publishes this instance's open socket count (both transports) to Redis
 * every 3 s, kept 10 s, so {@link socketCounts} can answer for every live
 * instance. Returns the function that stops it and removes the count.
 */
export function startCensus(server: Server, count: () => number): () => Promise<void> {
    const { bus, instanceId } = server.app;
    const names = keys(bus.prefix);
    const report = () => bus.redis.multi()
        .set(names.count(instanceId), String(count()), 'PX', TTL_MS)
        .sadd(names.instances, instanceId)
        .exec()
        .catch(() => undefined);
    const timer = setInterval(report, INTERVAL_MS);
    timer.unref();
    void report();
    return async () => {
        clearInterval(timer);
        await bus.redis.multi().del(names.count(instanceId)).srem(names.instances, instanceId).exec().catch(() => undefined);
    };
}

/**
 * Open sockets of both transports per live instance id, e.g. for the admin
 * stats: `{"<instance id>": count}`. Instances that stopped reporting are
 * dropped. Throws when Redis does not answer.
 */
export async function socketCounts(server: Server): Promise<Record<string, number>> {
    const { bus } = server.app;
    const names = keys(bus.prefix);
    const ids = await bus.redis.smembers(names.instances);
    if (!ids.length) {
        return {};
    }

    const values = await bus.redis.mget(...ids.map(names.count));
    const counts: Record<string, number> = {};
    const dead: string[] = [];
    ids.forEach((id, i) => {
        if (values[i] === null || values[i] === undefined) {
            dead.push(id);
        }
        else {
            counts[id] = Number(values[i]);
        }
    });
    if (dead.length) {
        await bus.redis.srem(names.instances, ...dead).catch(() => undefined);
    }

    return counts;
}
