import type { Knex } from 'knex';
import * as Y from 'yjs';

/** Names a document: a file of a workspace. */
export interface DocKey {
    workspaceId: number;
    path: string;
}

interface PendingRow {
    key: DocKey;
    data: Uint8Array;
}

const SNAPSHOTS = 'doc_snapshots';
const UPDATES = 'doc_updates';

/** Bytes from a `bytea` column, whichever driver read it (pg: Buffer, PGlite: Uint8Array). */
function bytes(value: unknown): Uint8Array {
    return value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer);
}

/**
 * Where documents live in the database: one snapshot per document
 * (`doc_snapshots`) plus the updates appended since (`doc_updates`).
 * Appends are group-committed: updates that arrive while an insert is in
 * flight go together in the next one, so a busy server batches without
 * waiting on a timer, and each append resolves once its row is committed.
 */
export class DocStore {
    private queue: PendingRow[] = [];
    private waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
    private writing = false;

    constructor(private readonly db: Knex) {}

    /**
     * The stored state of a document as one update, creating it from
     * `initialText()` when there is none. Of two instances creating it at
     * once, the first snapshot written wins and both read it back.
     */
    async load(key: DocKey, initialText: () => Promise<string>): Promise<Uint8Array> {
        const stored = await this.read(key);
        if (stored) {
            return stored;
        }

        const doc = new Y.Doc();
        doc.getText('content').insert(0, await initialText());
        const state = Y.encodeStateAsUpdate(doc);
        doc.destroy();
        await this.db(SNAPSHOTS).insert({ workspace_id: key.workspaceId, path: key.path, state: Buffer.from(state) }).onConflict(['workspace_id', 'path']).ignore();
        return (await this.read(key))!;
    }

    /** True when the document has stored state (it was opened once). */
    async exists(key: DocKey): Promise<boolean> {
        const row: unknown = await this.db(SNAPSHOTS).first('path').where({ workspace_id: key.workspaceId, path: key.path });
        return row !== undefined;
    }

    /** Appends an update; resolves once it is committed (rejects when the database refused the batch). */
    append(key: DocKey, data: Uint8Array): Promise<void> {
        return new Promise((resolve, reject) => {
            this.queue.push({ key, data });
            this.waiting.push({ resolve, reject });
            if (!this.writing) {
                this.writing = true;
                setImmediate(() => void this.flush());
            }
        });
    }

    /**
     * Folds the document's appended updates into its snapshot, in one
     * transaction holding the snapshot's row lock (so two instances
     * compacting at once cannot lose an update). Deletes exactly the rows it
     * merged.
     */
    async compact(key: DocKey): Promise<void> {
        await this.db.transaction(async (trx) => {
            const where = { workspace_id: key.workspaceId, path: key.path };
            const snapshot = await trx(SNAPSHOTS).first('state').where(where).forUpdate() as { state: unknown } | undefined;
            const rows = await trx(UPDATES).select('id', 'data').where(where).orderBy('id') as Array<{ id: string; data: unknown }>;
            if (!snapshot || rows.length === 0) {
                return;
            }

            const state = Y.mergeUpdates([bytes(snapshot.state), ...rows.map((row) => bytes(row.data))]);
            await trx(SNAPSHOTS).update({ state: Buffer.from(state), updated_at: trx.fn.now() }).where(where);
            await trx(UPDATES).whereIn('id', rows.map((row) => row.id)).delete();
        });
    }

    private async read(key: DocKey): Promise<Uint8Array | null> {
        const where = { workspace_id: key.workspaceId, path: key.path };
        const snapshot = await this.db(SNAPSHOTS).first('state').where(where) as { state: unknown } | undefined;
        if (!snapshot) {
            return null;
        }

        const rows = await this.db(UPDATES).select('data').where(where).orderBy('id') as Array<{ data: unknown }>;
        return rows.length ? Y.mergeUpdates([bytes(snapshot.state), ...rows.map((row) => bytes(row.data))]) : bytes(snapshot.state);
    }

    private async flush(): Promise<void> {
        while (this.queue.length) {
            const rows = this.queue;
            const waiting = this.waiting;
            this.queue = [];
            this.waiting = [];
            try {
                await this.db(UPDATES).insert(rows.map(({ key, data }) => ({ workspace_id: key.workspaceId, path: key.path, data: Buffer.from(data) })));
                for (const { resolve } of waiting) {
                    resolve();
                }
            }
            catch (err) {
                for (const { reject } of waiting) {
                    reject(err as Error);
                }
            }
        }

        this.writing = false;
    }
}
