import Boom from '@hapi/boom';
import { EpochMismatchError, ReplayStoppedError, type EventBus, type Presence, type Unsubscribe } from '@collab/core';

import { busError } from '../events/bus-errors.js';
import { pubPrefix, serverMessage } from './frames.js';
import type { Connection, Subscription, Transport } from './connection.js';

/** Counters the hub reports to (metrics). */
export interface HubHooks {
    /** An event reached this instance's fan-out. */
    onEvent?: () => void;
    /** A frame was serialized (once per event and distinct frame shape). */
    onFrame?: () => void;
    /** `count` sockets of a transport were written one event. */
    onDeliver?: (transport: Transport, count: number) => void;
    onError: (err: Error) => void;
}

/** Where a resumed subscription starts. */
export interface ResumeOptions {
    after: number;
    epoch?: string;
}

/** How a resume went; `reason` is set when the client must reload state (a `resync` message was sent first). */
export interface ResumeResult {
    epoch: string;
    recovered: boolean;
    reason?: 'epoch_changed' | 'history_lost';
    /** The connection's subscription to the workspace that this one replaced (ended). */
    replaced?: Subscription;
}

/** Sockets that receive the same frame: plain ones (`''`) or nes ones of one path. */
interface Group {
    prefix: string | null;
    subs: Set<Subscription>;
}

interface Topic {
    groups: Map<string, Group>;
    unsubscribe: Unsubscribe;
}

/**
 * This instance's local fan-out. The bus is subscribed once per workspace
 * with local live subscribers; each event's `json` (serialized once by the
 * bus) becomes one frame per group: the json itself for plain sockets, one
 * `pub` frame per nes path. Resumed subscriptions replay through
 * `bus.replayThenLive` with a listener of their own. Presence counts each
 * user once per socket and workspace.
 */
export class Hub {
    private readonly topics = new Map<number, Topic>();
    private readonly users = new Map<number, Set<Connection>>();
    private readonly resumed = new Map<Subscription, () => void>();
    private readonly pending = new Set<Promise<unknown>>();
    private replaying = 0;
    private held: Connection[] = [];
    private flushing: NodeJS.Immediate | undefined;

    constructor(private readonly bus: EventBus, private readonly presence: Presence, private readonly hooks: HubHooks) {}

    /** Adds a connection to the user index (per-user caps, revocation). */
    register(connection: Connection): void {
        const set = this.users.get(connection.user.id) ?? new Set();
        set.add(connection);
        this.users.set(connection.user.id, set);
    }

    /** Drops a connection and every subscription it still has (resumes in flight stop at their next page). */
    unregister(connection: Connection): void {
        for (const sub of [...connection.subscriptions]) {
            this.remove(sub);
        }

        for (const job of [...connection.jobs.values()]) {
            job.end();
        }

        const set = this.users.get(connection.user.id);
        if (set?.delete(connection) && set.size === 0) {
            this.users.delete(connection.user.id);
        }
    }

    /** Open connections of a user on this instance. */
    connectionsOf(userId: number): Connection[] {
        return [...this.users.get(userId) ?? []];
    }

    /** Every connection on this instance. */
    connections(): Connection[] {
        return [...this.users.values()].flatMap((set) => [...set]);
    }

    /** What the hub holds, for tests that check nothing is left behind. */
    census(): { connections: number; topics: number; groups: number; resumed: number; replaying: number } {
        let groups = 0;
        for (const topic of this.topics.values()) {
            groups += topic.groups.size;
        }

        return { connections: this.connections().length, topics: this.topics.size, groups, resumed: this.resumed.size, replaying: this.replaying };
    }

    /**
     * Adds a live subscription: events published from now on. It takes the
     * place of the connection's subscription to the same workspace, if any,
     * which is returned (ended) so the transport can tell its client.
     */
    add(sub: Subscription): Subscription | undefined {
        const replaced = this.subscriptionTo(sub.connection, sub.workspaceId);
        let topic = this.topics.get(sub.workspaceId);
        if (!topic) {
            const workspaceId = sub.workspaceId;
            topic = { groups: new Map(), unsubscribe: this.bus.subscribe(workspaceId, (_envelope, json) => this.fanOut(workspaceId, json)) };
            this.topics.set(workspaceId, topic);
        }

        let group = topic.groups.get(sub.path);
        if (!group) {
            group = { prefix: sub.path ? pubPrefix(sub.path) : null, subs: new Set() };
            topic.groups.set(sub.path, group);
        }

        group.subs.add(sub);
        sub.connection.subscriptions.add(sub);
        this.hold(sub.connection, sub.workspaceId);
        if (replaced) {
            this.remove(replaced);
        }

        return replaced;
    }

    /**
     * Adds a subscription that receives no events (a document socket): it
     * counts in presence and is re-checked when memberships change, like
     * the others. End it with {@link remove}.
     */
    track(sub: Subscription): void {
        sub.connection.subscriptions.add(sub);
        this.hold(sub.connection, sub.workspaceId);
    }

    /**
     * Adds a subscription that first receives the retained events after
     * `options.after`, then live ones, without gap or duplicate. History is
     * read and written a page at a time, each write counted against the
     * socket's slow-consumer bound; the replay stops when the socket closes
     * or `proceed()` turns false (e.g. a later subscribe took the slot). A
     * stale epoch replays the current epoch from its start; either way the
     * client is told first with a `resync` message. Like {@link add}, it
     * takes the place of the connection's subscription to the workspace; the
     * one replaced ends at once (so an event never reaches the socket
     * twice) and is returned. Throws Boom 503 when Redis fails.
     */
    async resume(sub: Subscription, options: ResumeOptions, proceed: () => boolean = () => true): Promise<ResumeResult> {
        const connection = sub.connection;
        const prefix = sub.path ? pubPrefix(sub.path) : null;
        const write = (_envelope: unknown, json: string) => connection.write(Buffer.from(prefix === null ? json : `${prefix}${json}}`));
        let reason: ResumeResult['reason'];
        const control = {
            proceed: () => connection.open && proceed(),
            onStart: (epoch: string, recovered: boolean) => {
                reason ??= recovered ? undefined : 'history_lost';
                if (reason) {
                    connection.notify(serverMessage('resync', { epoch, after: options.after, reason }, sub.workspaceId), sub);
                }
            }
        };

        this.hold(connection, sub.workspaceId);
        const replaced = this.subscriptionTo(connection, sub.workspaceId);
        if (replaced) {
            this.remove(replaced);
        }

        this.replaying++;
        let replay;
        try {
            replay = await this.bus.replayThenLive(sub.workspaceId, options, write, control).catch((err: unknown) => {
                if (!(err instanceof EpochMismatchError)) {
                    throw err;
                }

                reason = 'epoch_changed';
                return this.bus.replayThenLive(sub.workspaceId, { after: 0 }, write, control);
            });
        }
        catch (err) {
            this.letGo(connection, sub.workspaceId);
            throw err instanceof ReplayStoppedError ? stopped(connection) : busError(err);
        }
        finally {
            this.replaying--;
        }

        if (!control.proceed()) {
            replay.unsubscribe();
            this.letGo(connection, sub.workspaceId);
            throw stopped(connection);
        }

        this.resumed.set(sub, replay.unsubscribe);
        connection.subscriptions.add(sub);
        return { epoch: replay.epoch, recovered: replay.recovered, reason, replaced };
    }

    /** Ends a subscription (idempotent). */
    remove(sub: Subscription): void {
        const connection = sub.connection;
        if (!connection.subscriptions.delete(sub)) {
            return;
        }

        const stop = this.resumed.get(sub);
        if (stop) {
            this.resumed.delete(sub);
            stop();
        }
        else {
            const topic = this.topics.get(sub.workspaceId);
            const group = topic?.groups.get(sub.path);
            if (topic && group?.subs.delete(sub) && group.subs.size === 0) {
                topic.groups.delete(sub.path);
                if (topic.groups.size === 0) {
                    this.topics.delete(sub.workspaceId);
                    topic.unsubscribe();
                }
            }
        }

        this.letGo(connection, sub.workspaceId);
    }

    /** Resolves once presence updates in flight are done (before the bus closes). */
    async drain(): Promise<void> {
        while (this.pending.size) {
            await Promise.allSettled([...this.pending]);
        }
    }

    private subscriptionTo(connection: Connection, workspaceId: number): Subscription | undefined {
        for (const sub of connection.subscriptions) {
            if (sub.workspaceId === workspaceId) {
                return sub;
            }
        }

        return undefined;
    }

    // A user joins a workspace's presence with a socket's first hold there and leaves with its last.
    private hold(connection: Connection, workspaceId: number): void {
        const count = connection.workspaces.get(workspaceId) ?? 0;
        connection.workspaces.set(workspaceId, count + 1);
        if (count === 0) {
            this.background(this.presence.join(workspaceId, { user_id: connection.user.id, user: connection.user.email }));
        }
    }

    private letGo(connection: Connection, workspaceId: number): void {
        const left = (connection.workspaces.get(workspaceId) ?? 1) - 1;
        if (left > 0) {
            connection.workspaces.set(workspaceId, left);
            return;
        }

        connection.workspaces.delete(workspaceId);
        this.background(this.presence.leave(workspaceId, { user_id: connection.user.id, user: connection.user.email }));
    }

    // Sockets are held (corked) until the end of the tick: events that arrive together leave together.
    private fanOut(workspaceId: number, json: string): void {
        const topic = this.topics.get(workspaceId);
        if (!topic) {
            return;
        }

        this.hooks.onEvent?.();
        for (const group of topic.groups.values()) {
            const frame = Buffer.from(group.prefix === null ? json : `${group.prefix}${json}}`);
            this.hooks.onFrame?.();
            let transport: Transport = 'ws';
            for (const sub of group.subs) {
                const connection = sub.connection;
                transport = connection.transport;
                if (connection.hold()) {
                    this.held.push(connection);
                }

                connection.write(frame);
            }

            this.hooks.onDeliver?.(transport, group.subs.size);
        }

        if (this.held.length && !this.flushing) {
            this.flushing = setImmediate(this.release);
        }
    }

    private readonly release = (): void => {
        this.flushing = undefined;
        const held = this.held;
        this.held = [];
        for (const connection of held) {
            connection.release();
        }
    };

    private background(work: Promise<unknown>): void {
        const tracked = work.catch((err: Error) => {
            try {
                this.hooks.onError(err);
            }
            catch {
                // A failing error hook must not leave the work untracked.
            }
        }).finally(() => this.pending.delete(tracked));
        this.pending.add(tracked);
    }
}

function stopped(connection: Connection): Boom.Boom {
    return connection.open ? Boom.conflict('Replaced by a later subscription to this workspace') : Boom.notFound('Socket closed');
}
