import type { Knex } from 'knex';

import { workspaceAccess } from '../access.js';

type Access = Awaited<ReturnType<typeof workspaceAccess>>;

const TTL_MS = 10_000;
const MAX_ENTRIES = 50_000;

/**
 * The workspace and role a user's sockets were last granted, per user and
 * workspace, kept for 10 s so a burst of sockets (a reconnect storm, a user's
 * tabs) costs one membership query per user and workspace instead of one
 * per socket. Concurrent lookups of one pair share a query. {@link forget}
 * drops a project's entries when its memberships or workspaces change (the
 * `membership` control message, on every instance) and bars lookups already
 * in flight from being kept, so a socket that opens after a change sees it;
 * the 10 s bound covers a message lost while Redis was away. Refusals are
 * never kept. Live subscriptions are re-checked from the database, not here.
 */
export class AccessCache {
    private readonly entries = new Map<string, { access: Access; until: number }>();
    private readonly pending = new Map<string, Promise<Access>>();
    private generation = 0;

    constructor(private readonly db: Knex) {}

    /** The workspace and the user's role in its project; throws as {@link workspaceAccess} (404 without access). */
    async get(workspaceId: number, userId: number): Promise<Access> {
        const key = `${userId}:${workspaceId}`;
        const entry = this.entries.get(key);
        if (entry && entry.until > Date.now()) {
            return entry.access;
        }

        let lookup = this.pending.get(key);
        if (!lookup) {
            lookup = this.lookup(key, workspaceId, userId);
            this.pending.set(key, lookup);
        }

        return lookup;
    }

    /** Forgets what was granted in a project's workspaces, and what is being looked up anywhere. */
    forget(projectId: number): void {
        this.generation++;
        this.pending.clear();
        for (const [key, entry] of this.entries) {
            if (entry.access.workspace.project_id === projectId) {
                this.entries.delete(key);
            }
        }
    }

    private async lookup(key: string, workspaceId: number, userId: number): Promise<Access> {
        const generation = this.generation;
        try {
            const access = await workspaceAccess(this.db, workspaceId, userId);
            if (generation === this.generation) {
                if (this.entries.size >= MAX_ENTRIES) {
                    this.entries.clear();
                }

                this.entries.set(key, { access, until: Date.now() + TTL_MS });
            }

            return access;
        }
        finally {
            if (generation === this.generation) {
                this.pending.delete(key);
            }
        }
    }
}
