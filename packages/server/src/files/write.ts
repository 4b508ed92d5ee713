import Boom from '@hapi/boom';
import { WorkspaceFile } from '@collab/core';
import type { Knex } from 'knex';

import { checkContent, checkPath } from './limits.js';

/** A file write, from PUT or from a `file_change` event. */
export interface WriteFileInput {
    workspaceId: number;
    path: string;
    content: string;
    /** The revision the writer started from: the write fails with 409 unless it is still current. 0 means "only if the file does not exist". */
    baseRevision?: number;
    /** The writer, stored as `updated_by`. */
    userId: number;
}

/** The outcome of a write. */
export interface WrittenFile {
    path: string;
    /** 1 for a new file, one more than before for an update. */
    revision: number;
    updated_at: string;
}

const RETURNED = ['path', 'revision', 'updated_at'];

function written(rows: Record<string, unknown>[]): WrittenFile | undefined {
    if (!rows[0]) {
        return undefined;
    }

    const file = WorkspaceFile.fromDatabaseJson(rows[0]);
    return { path: file.path, revision: file.revision, updated_at: file.updated_at };
}

async function stale(db: Knex, input: WriteFileInput): Promise<Boom.Boom> {
    const current = await db(WorkspaceFile.tableName).first('revision').where({ workspace_id: input.workspaceId, path: input.path }) as { revision: number } | undefined;
    const state = current ? `the file is at revision ${current.revision}` : 'the file does not exist';
    const error = Boom.conflict(`base_revision ${input.baseRevision} is not current (${state})`);
    Object.assign(error.output.payload, { field: 'base_revision', revision: current?.revision ?? null });
    return error;
}

/**
 * Creates (revision 1) or updates (revision + 1) a workspace file in one statement.
 * With `baseRevision`, the update is conditional (`WHERE revision = base`), so of two
 * writers starting from the same revision exactly one wins and the other gets 409.
 * Throws 400 for a bad path, 413 for content over 1 MiB. Does not check roles or broadcast.
 */
export async function writeFile(db: Knex, input: WriteFileInput): Promise<WrittenFile> {
    checkPath(input.path);
    const size = checkContent(input.content);
    const key = { workspace_id: input.workspaceId, path: input.path };
    const values = { content: input.content, size, updated_at: db.fn.now(), updated_by: input.userId };
    const table = () => db(WorkspaceFile.tableName);

    let rows: Record<string, unknown>[];
    if (input.baseRevision === undefined) {
        rows = await table().insert({ ...key, ...values, revision: 1 }).onConflict(['workspace_id', 'path']).merge({
            content: db.raw('excluded.content'),
            size: db.raw('excluded.size'),
            updated_at: db.raw('excluded.updated_at'),
            updated_by: db.raw('excluded.updated_by'),
            revision: db.raw('??.revision + 1', [WorkspaceFile.tableName])
        }).returning(RETURNED);
    }
    else if (input.baseRevision === 0) {
        rows = await table().insert({ ...key, ...values, revision: 1 }).onConflict(['workspace_id', 'path']).ignore().returning(RETURNED);
    }
    else {
        rows = await table().update({ ...values, revision: db.raw('revision + 1') }).where({ ...key, revision: input.baseRevision }).returning(RETURNED);
    }

    const result = written(rows);
    if (!result) {
        throw await stale(db, input);
    }

    return result;
}

/** Deletes a workspace file; false when there was none. Throws 400 for a bad path. Does not check roles or broadcast. */
export async function deleteFile(db: Knex, input: { workspaceId: number; path: string }): Promise<boolean> {
    checkPath(input.path);
    // RETURNING rather than the count: knex-pglite answers a DELETE with its raw result, not a number.
    const deleted = await db(WorkspaceFile.tableName).where({ workspace_id: input.workspaceId, path: input.path }).delete().returning('path');
    return deleted.length > 0;
}

/**
 * Writes content unless the file already holds it: creates the file
 * (revision 1) or updates it (revision + 1) only when the content differs,
 * in one statement, so writers with the same text make one revision between
 * them. Resolves to the new revision, or null when nothing changed. Throws
 * 400 for a bad path, 413 and 400 for content a file cannot hold.
 */
export async function writeFileIfChanged(db: Knex, input: Omit<WriteFileInput, 'baseRevision'>): Promise<WrittenFile | null> {
    checkPath(input.path);
    const size = checkContent(input.content);
    const rows = await db(WorkspaceFile.tableName)
        .insert({ workspace_id: input.workspaceId, path: input.path, content: input.content, size, updated_at: db.fn.now(), updated_by: input.userId, revision: 1 })
        .onConflict(['workspace_id', 'path'])
        .merge({
            content: db.raw('excluded.content'),
            size: db.raw('excluded.size'),
            updated_at: db.raw('excluded.updated_at'),
            updated_by: db.raw('excluded.updated_by'),
            revision: db.raw('??.revision + 1', [WorkspaceFile.tableName])
        })
        .whereRaw('??.content IS DISTINCT FROM excluded.content', [WorkspaceFile.tableName])
        .returning(RETURNED) as Record<string, unknown>[];
    return written(rows) ?? null;
}
