import type { RedisClient } from '../redis/client.js';

import type { EventBus } from './event-bus.js';
import { presenceKeys } from './keys.js';
import { adjustScript, sweepWorkspaceScript } from './presence-scripts.js';

/** Options of a {@link Presence}. */
export interface PresenceOptions {
    /** The bus presence events go through; its connection, prefix and instance id are used. */
    bus: EventBus;
    /** How long this instance counts as alive after its last heartbeat (default 10 000 ms). */
    heartbeatTtlMs?: number;
    /** How often this instance renews its heartbeat (default 3 000 ms). */
    heartbeatIntervalMs?: number;
    /** How often this instance tries to sweep dead instances; one instance at a time does (default 5 000 ms). */
    sweepIntervalMs?: number;
    /** Errors of background work (heartbeat, sweep); default `process.emitWarning`. */
    onError?: (err: Error) => void;
}

/** Who connects. */
export interface PresenceUser {
    user_id: number;
    /** Email. */
    user: string;
}

/** A user present in a workspace. */
export interface PresenceEntry extends PresenceUser {
    /** Open connections across every live instance. */
    connections: number;
    /** When the user's first current connection opened (ISO 8601 UTC). */
    since: string;
}

interface LocalUser {
    user: string;
    count: number;
}

/**
 * Who is connected to which workspace, across instances. Each instance
 * keeps its own counts in Redis and a heartbeat; a user joins with their
 * first connection anywhere and leaves with their last, and only then are
 * `presence.join` / `presence.leave` published. The connections of an
 * instance whose heartbeat lapsed are swept by a live one, which publishes
 * the leaves.
 */
export class Presence {
    private readonly bus: EventBus;
    private readonly redis: RedisClient;
    private readonly instanceId: string;
    /** This life's member id (see the class comment). */
    private member: string;
    private lives = 0;
    private readonly keys: ReturnType<typeof presenceKeys>;
    private readonly heartbeatTtlMs: number;
    private readonly heartbeatIntervalMs: number;
    private readonly sweepIntervalMs: number;
    private readonly onError: (err: Error) => void;
    private readonly local = new Map<number, Map<number, LocalUser>>();
    private readonly unsynced = new Map<string, { workspaceId: number; who: PresenceUser }>();
    private timers: NodeJS.Timeout[] = [];

    constructor(options: PresenceOptions) {
        this.bus = options.bus;
        this.redis = options.bus.redis;
        this.instanceId = options.bus.instanceId;
        if (this.instanceId.includes('|')) {
            throw new TypeError('instanceId must not contain "|" when used for presence');
        }

        this.member = `${this.instanceId}.0`;

        this.keys = presenceKeys(options.bus.prefix);
        this.heartbeatTtlMs = options.heartbeatTtlMs ?? 10_000;
        this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3_000;
        this.sweepIntervalMs = options.sweepIntervalMs ?? 5_000;
        this.onError = options.onError ?? ((err) => process.emitWarning(err));
        if (this.heartbeatIntervalMs >= this.heartbeatTtlMs) {
            throw new TypeError('heartbeatIntervalMs must be shorter than heartbeatTtlMs');
        }
    }

    /** Announces this instance and starts the heartbeat and sweep timers (unref'd). */
    async start(): Promise<void> {
        this.stop();
        await this.register();
        const heartbeat = setInterval(() => this.heartbeat().catch(this.onError), this.heartbeatIntervalMs);
        const sweep = setInterval(() => this.sweep().catch(this.onError), this.sweepIntervalMs);
        heartbeat.unref();
        sweep.unref();
        this.timers = [heartbeat, sweep];
    }

    /** Stops the timers. Connections stay counted until they leave or the heartbeat lapses. */
    stop(): void {
        for (const timer of this.timers) {
            clearInterval(timer);
        }

        this.timers = [];
    }

    /** Counts one more connection; true (and `presence.join` published) when it is the user's first on any instance. */
    async join(workspaceId: number, who: PresenceUser): Promise<boolean> {
        assertWho(workspaceId, who);
        let users = this.local.get(workspaceId);
        if (!users) {
            users = new Map();
            this.local.set(workspaceId, users);
        }

        const entry = users.get(who.user_id) ?? { user: who.user, count: 0 };
        entry.count++;
        users.set(who.user_id, entry);
        const [before, after] = await this.change(workspaceId, who, 1);
        const first = before <= 0 && after > 0;
        if (first) {
            await this.announce(workspaceId, 'presence.join', who, after);
        }

        return first;
    }

    /** Counts one connection less; true (and `presence.leave` published) when it was the user's last on every instance. */
    async leave(workspaceId: number, who: PresenceUser): Promise<boolean> {
        assertWho(workspaceId, who);
        const users = this.local.get(workspaceId);
        const entry = users?.get(who.user_id);
        if (!users || !entry) {
            return false;
        }

        entry.count--;
        if (entry.count === 0) {
            users.delete(who.user_id);
            if (users.size === 0) {
                this.local.delete(workspaceId);
            }
        }

        const [before, after] = await this.change(workspaceId, who, -1);
        const last = before > 0 && after === 0;
        if (last) {
            await this.announce(workspaceId, 'presence.leave', who, 0);
        }

        return last;
    }

    /** Users connected to a workspace on live instances, earliest first. */
    async list(workspaceId: number): Promise<PresenceEntry[]> {
        const [connections, users] = await Promise.all([
            this.redis.hgetall(this.keys.connections(workspaceId)),
            this.redis.hgetall(this.keys.users(workspaceId))
        ]);
        const perInstance = Object.entries(connections).map(([field, count]) => {
            const cut = field.lastIndexOf('|');
            return { instanceId: field.slice(0, cut), userId: Number(field.slice(cut + 1)), count: Number(count) };
        });
        const instances = [...new Set(perInstance.map((entry) => entry.instanceId))];
        const alive = new Set<string>();
        await Promise.all(instances.map(async (id) => {
            if (await this.redis.exists(this.keys.heartbeat(id))) {
                alive.add(id);
            }
        }));

        const totals = new Map<number, number>();
        for (const { instanceId, userId, count } of perInstance) {
            if (alive.has(instanceId)) {
                totals.set(userId, (totals.get(userId) ?? 0) + count);
            }
        }

        const entries: PresenceEntry[] = [];
        for (const [userId, count] of totals) {
            const meta = parseUser(users[userId]);
            if (count > 0 && meta) {
                entries.push({ user_id: userId, user: meta.user, connections: count, since: meta.since });
            }
        }

        return entries.sort((a, b) => a.since.localeCompare(b.since) || a.user_id - b.user_id);
    }

    /**
     * Removes the connections of instances whose heartbeat lapsed and
     * publishes their users' leaves. Guarded by a Redis lock so one
     * instance sweeps at a time; returns how many instances it forgot.
     */
    async sweep(): Promise<number> {
        const locked = await this.redis.set(this.keys.sweepLock, this.instanceId, 'PX', this.sweepIntervalMs, 'NX');
        if (locked === null) {
            return 0;
        }

        let forgotten = 0;
        for (const member of await this.redis.smembers(this.keys.instances)) {
            if (member !== this.member && !await this.redis.exists(this.keys.heartbeat(member))) {
                await this.sweepMember(member);
                forgotten++;
            }
        }

        return forgotten;
    }

    // A member whose heartbeat lapsed never renews it (its instance registers anew), so no race with it.
    private async sweepMember(member: string): Promise<void> {
        const workspaces = this.keys.instanceWorkspaces(member);
        for (const workspace of await this.redis.smembers(workspaces)) {
            const workspaceId = Number(workspace);
            const left = await sweepWorkspaceScript.run(
                this.redis,
                [this.keys.connections(workspaceId), this.keys.totals(workspaceId), this.keys.users(workspaceId)],
                [`${member}|`]
            ) as string[];
            for (let i = 0; i < left.length; i += 2) {
                const userId = Number(left[i]);
                await this.announce(workspaceId, 'presence.leave', { user_id: userId, user: parseUser(left[i + 1])?.user ?? '' }, 0);
            }
        }

        await this.redis.del(workspaces);
        await this.redis.srem(this.keys.instances, member);
    }

    private async heartbeat(): Promise<void> {
        const renewed = await this.redis.set(this.keys.heartbeat(this.member), '1', 'PX', this.heartbeatTtlMs, 'XX');
        if (renewed === null) {
            // We were taken for dead (a long pause) or Redis lost our keys: count our connections again.
            await this.register();
            return;
        }

        for (const [key, { workspaceId, who }] of this.unsynced) {
            await this.sync(workspaceId, who);
            this.unsynced.delete(key);
        }
    }

    // Each registration is a new life; listed before its heartbeat, so a crash in between leaves nothing unswept.
    private async register(): Promise<void> {
        this.member = `${this.instanceId}.${this.lives++}`;
        await this.redis.sadd(this.keys.instances, this.member);
        await this.redis.set(this.keys.heartbeat(this.member), '1', 'PX', this.heartbeatTtlMs);
        for (const [workspaceId, users] of this.local) {
            for (const [userId, { user }] of users) {
                await this.sync(workspaceId, { user_id: userId, user });
            }
        }

        for (const [key, { workspaceId, who }] of this.unsynced) {
            await this.sync(workspaceId, who);
            this.unsynced.delete(key);
        }
    }

    // A join or leave whose script failed leaves Redis off by one; remember it and set the count later.
    private async change(workspaceId: number, who: PresenceUser, n: 1 | -1): Promise<[number, number]> {
        try {
            return await this.adjust(workspaceId, who, 'add', n);
        }
        catch (err) {
            this.unsynced.set(`${workspaceId}|${who.user_id}`, { workspaceId, who });
            throw err;
        }
    }

    /** Sets Redis's count for a user on this instance to the local one, announcing a join or leave it causes. */
    private async sync(workspaceId: number, who: PresenceUser): Promise<void> {
        const count = this.local.get(workspaceId)?.get(who.user_id)?.count ?? 0;
        const [before, after] = await this.adjust(workspaceId, who, 'set', count);
        if (before <= 0 && after > 0) {
            await this.announce(workspaceId, 'presence.join', who, after);
        }
        else if (before > 0 && after === 0) {
            await this.announce(workspaceId, 'presence.leave', who, 0);
        }
    }

    private async adjust(workspaceId: number, who: PresenceUser, mode: 'add' | 'set', n: number): Promise<[number, number]> {
        const keys = [this.keys.connections(workspaceId), this.keys.totals(workspaceId), this.keys.users(workspaceId)];
        const user = JSON.stringify({ user: who.user, since: new Date().toISOString() });
        // The member's set of workspaces (another slot on a cluster) is written in the same tick as the
        // counts, and lists the workspace before the first count and until after the last.
        const workspaces = this.keys.instanceWorkspaces(this.member);
        const empty = !this.local.has(workspaceId);
        const listed = empty ? undefined : this.redis.sadd(workspaces, workspaceId);
        const adjusted = adjustScript.run(this.redis, keys, [`${this.member}|${who.user_id}`, who.user_id, mode, n, user]);
        const unlisted = empty ? this.redis.srem(workspaces, workspaceId) : undefined;
        const [reply] = await Promise.all([adjusted, listed, unlisted]) as [[number, number], unknown, unknown];
        return [Number(reply[0]), Number(reply[1])];
    }

    private async announce(workspaceId: number, event: 'presence.join' | 'presence.leave', who: PresenceUser, connections: number): Promise<void> {
        await this.bus.publishEphemeral(workspaceId, { event, payload: { connections }, user: who.user, user_id: who.user_id });
    }
}

function assertWho(workspaceId: number, who: PresenceUser): void {
    if (!Number.isSafeInteger(workspaceId) || !Number.isSafeInteger(who.user_id) || typeof who.user !== 'string') {
        throw new TypeError('workspaceId and user_id must be integers, user a string');
    }
}

function parseUser(json: string | undefined): { user: string; since: string } | undefined {
    if (!json) {
        return undefined;
    }

    const parsed = JSON.parse(json) as { user?: string; since?: string };
    return { user: parsed.user ?? '', since: parsed.since ?? '' };
}
