import { isEmbedded } from '@collab/core';
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
    resolve(): void;
    reject(err: Error): void;
}

/** An append refused because the document's file was deleted (its stored state is gone). */
export class DocDeleted extends Error {
    constructor() {
        super('the document\'s file was deleted');
    }
}

/** A connection of knex's pool as its driver gives it: node-postgres' client, or the PGlite database. */
interface DriverConnection {
    query(query: string | { name: string; text: string; values: unknown[] }, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** The part of knex's client that lends pool connections. */
interface PoolClient {
    acquireConnection(): Promise<DriverConnection>;
    releaseConnection(connection: DriverConnection): Promise<void>;
}

/**
 * Each document, when created, gets an entry of its own under this key (a Yjs item nobody else
 * writes): a client that still holds the state of a document deleted since, and sends it to the
 * document created later at its path, is found out by that older entry.
 */
export const GENERATION_MAP = 'collab';
export const GENERATION_KEY = 'generation';

const SNAPSHOTS = 'doc_snapshots';
const MERGE_FAN_IN = 16;
const UPDATES = 'doc_updates';

/** A Buffer over the same bytes (no copy), as the drivers want a `bytea` parameter. */
function asBuffer(data: Uint8Array): Buffer {
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

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
    private writing = false;
    private readonly prepared: boolean;

    constructor(private readonly db: Knex) {
        this.prepared = !isEmbedded(db);
    }

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
        doc.getMap(GENERATION_MAP).set(GENERATION_KEY, Date.now());
        const state = Y.encodeStateAsUpdate(doc);
        doc.destroy();
        await this.db(SNAPSHOTS).insert({ workspace_id: key.workspaceId, path: key.path, state: asBuffer(state) }).onConflict(['workspace_id', 'path']).ignore();
        return (await this.read(key))!;
    }

    /** True when the document has stored state (it was opened once). */
    async exists(key: DocKey): Promise<boolean> {
        const row: unknown = await this.db(SNAPSHOTS).first('path').where({ workspace_id: key.workspaceId, path: key.path });
        return row !== undefined;
    }

    /**
     * Inside a transaction: true when the document still has stored state,
     * which then cannot be removed before the transaction ends (its row is
     * key-share-locked, which neither appends nor a compaction wait for). A
     * write that follows the document checks this first, so it cannot bring
     * back a file deleted meanwhile.
     */
    async live(trx: Knex.Transaction, key: DocKey): Promise<boolean> {
        const row: unknown = await trx(SNAPSHOTS).first('path').where({ workspace_id: key.workspaceId, path: key.path }).forKeyShare();
        return row !== undefined;
    }

    /** Inside the transaction deleting its file: removes the document's snapshot (first, waiting for appends and writes holding it), then its updates. */
    async remove(trx: Knex.Transaction, key: DocKey): Promise<void> {
        const where = { workspace_id: key.workspaceId, path: key.path };
        await trx(SNAPSHOTS).where(where).delete();
        await trx(UPDATES).where(where).delete();
    }

    /** Appends an update; resolves once it is committed (rejects when the database refused the batch, with {@link DocDeleted} when the document is gone). */
    append(key: DocKey, data: Uint8Array): Promise<void> {
        return new Promise((resolve, reject) => {
            this.queue.push({ key, data, resolve, reject });
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
     * merged. Appends go on meanwhile: theirs is a key-share lock, which
     * this one (no key update) does not wait for nor block. When another
     * instance is compacting the document (or deleting it), this one does
     * nothing: the rows it leaves go into the next compaction. Like an
     * append, its commit does not wait for the WAL's flush; it is atomic all
     * the same.
     */
    async compact(key: DocKey): Promise<void> {
        await this.db.transaction(async (trx) => {
            const where = { workspace_id: key.workspaceId, path: key.path };
            await trx.raw('SET LOCAL synchronous_commit = off');
            const snapshot = await trx(SNAPSHOTS).first('state').where(where).forNoKeyUpdate().skipLocked() as { state: unknown } | undefined;
            const rows = await trx(UPDATES).select('id', 'data').where(where).orderBy('id') as Array<{ id: string; data: unknown }>;
            if (!snapshot || rows.length === 0) {
                return;
            }

            const state = await merged(bytes(snapshot.state), rows.map((row) => bytes(row.data)));
            await trx(SNAPSHOTS).update({ state: asBuffer(state), updated_at: trx.fn.now() }).where(where);
            await trx(UPDATES).whereRaw('id = ANY(?::bigint[])', [rows.map((row) => row.id)]).delete();
        });
    }

    private async read(key: DocKey): Promise<Uint8Array | null> {
        const where = { workspace_id: key.workspaceId, path: key.path };
        const snapshot = await this.db(SNAPSHOTS).first('state').where(where) as { state: unknown } | undefined;
        if (!snapshot) {
            return null;
        }

        const rows = await this.db(UPDATES).select('data').where(where).orderBy('id') as Array<{ data: unknown }>;
        return merged(bytes(snapshot.state), rows.map((row) => bytes(row.data)));
    }

    private async flush(): Promise<void> {
        while (this.queue.length) {
            const rows = this.queue;
            this.queue = [];
            try {
                const live = await this.insert(rows);
                for (const { key, resolve, reject } of rows) {
                    if (live.has(docId(key))) {
                        resolve();
                    }
                    else {
                        reject(new DocDeleted());
                    }
                }
            }
            catch (err) {
                for (const { reject } of rows) {
                    reject(err as Error);
                }
            }
        }

        this.writing = false;
    }

    // One statement, its own transaction: key-share-locks the snapshots of the batch's documents that still
    // have one (so a deletion waits for the commit, then removes the rows), inserts those documents' rows
    // in order, and answers the documents found. Its commit does not wait for the WAL to reach the disk:
    // once committed, a row survives the death of every collab instance; only a crash of PostgreSQL
    // itself may lose the last fraction of a second. On the hot path, so run by the driver itself (prepared,
    // on PostgreSQL) on a connection of knex's pool.
    private async insert(rows: PendingRow[]): Promise<Set<string>> {
        const keys = [...new Map(rows.map(({ key }) => [docId(key), key])).values()];
        // The updates travel as one binary parameter (an array of bytea would travel as hex text), each row its slice.
        const starts: number[] = [];
        let start = 1;
        for (const { data } of rows) {
            starts.push(start);
            start += data.byteLength;
        }

        const values = [
            keys.map((key) => key.workspaceId),
            keys.map((key) => key.path),
            rows.map(({ key }) => key.workspaceId),
            rows.map(({ key }) => key.path),
            starts,
            rows.map(({ data }) => data.byteLength),
            rows.length === 1 ? asBuffer(rows[0]!.data) : Buffer.concat(rows.map(({ data }) => data))
        ];
        const pool = this.db.client as PoolClient;
        const connection = await pool.acquireConnection();
        let found: Array<{ workspace_id: number; path: string }>;
        try {
            const result = this.prepared ? await connection.query({ name: 'collab_doc_append', text: APPEND, values }) : await connection.query(APPEND, values);
            found = result.rows as typeof found;
        }
        finally {
            await pool.releaseConnection(connection);
        }

        return new Set(found.map((row) => docId({ workspaceId: row.workspace_id, path: row.path })));
    }
}

const APPEND = `
WITH live AS (
    SELECT s.workspace_id, s.path FROM ${SNAPSHOTS} s
    JOIN unnest($1::int[], $2::text[]) AS k (workspace_id, path) USING (workspace_id, path)
    FOR KEY SHARE OF s
), relaxed AS (
    SELECT set_config('synchronous_commit', 'off', true)
), added AS (
    INSERT INTO ${UPDATES} (workspace_id, path, data)
    SELECT r.workspace_id, r.path, substring($7::bytea FROM r.start FOR r.length)
    FROM unnest($3::int[], $4::text[], $5::int[], $6::int[]) WITH ORDINALITY AS r (workspace_id, path, start, length, n)
    JOIN live USING (workspace_id, path)
    ORDER BY r.n
)
SELECT live.workspace_id, live.path FROM live, relaxed`;

/**
 * One update holding a snapshot and the rows appended since. `Y.mergeUpdates`
 * sorts all its inputs again for each run of structs it writes, so one call
 * over hundreds of rows took 25–45 ms on the event loop every editor of the
 * instance waits on. The rows are merged 16 at a time, then those merges 16
 * at a time, with a turn of the event loop between merges, and the result
 * once with the snapshot: no step takes more than a few milliseconds. What
 * waits for a missing dependency is kept, as in any merge.
 */
export async function merged(snapshot: Uint8Array, rows: Uint8Array[]): Promise<Uint8Array> {
    let level = rows;
    while (level.length > 1) {
        const next: Uint8Array[] = [];
        for (let i = 0; i < level.length; i += MERGE_FAN_IN) {
            next.push(Y.mergeUpdates(level.slice(i, i + MERGE_FAN_IN)));
            await new Promise(setImmediate);
        }

        level = next;
    }

    return level.length ? Y.mergeUpdates([snapshot, level[0]!]) : snapshot;
}

/** A document's key as one string (map keys). */
export function docId(key: DocKey): string {
    return `${key.workspaceId}\n${key.path}`;
}
