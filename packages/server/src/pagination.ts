import Boom from '@hapi/boom';
import type { Request, ResponseObject, ResponseToolkit } from '@hapi/hapi';
import type { Model, ModelObject, QueryBuilder } from 'objection';

/** The key a list is ordered by: an integer id, or a text key such as a file path. */
export type CursorKey = number | string;

/** What kind of key a cursor must hold. */
export type CursorKind = 'id' | 'text';

/** `limit` and `cursor` of a list request, as `pageQuery` in `schemas/common.ts` validates them. */
export interface PageQuery {
    limit: number;
    cursor?: string;
}

/** How `paginate()` orders and shows one list. */
export interface PageOptions<M extends Model> {
    /** The (qualified) column the list is ordered by; it must be unique within the list. */
    column: string;
    kind: CursorKind;
    /** The value of `column` in a row. */
    key: (row: ModelObject<M>) => CursorKey;
    /** A row as the API shows it. */
    show: (row: ModelObject<M>) => unknown;
}

const MAX_ID = 2147483647;

/** An opaque cursor: base64url of the JSON `[key]` of the last row of a page. */
export function encodeCursor(key: CursorKey): string {
    return Buffer.from(JSON.stringify([key])).toString('base64url');
}

function invalidCursor(): Boom.Boom {
    const error = Boom.badRequest('cursor is not a valid cursor for this list');
    (error.output.payload as unknown as Record<string, unknown>).field = 'cursor';
    return error;
}

/** The key a cursor holds, or undefined without a cursor. Throws 400 naming `cursor` when it is not one this list made. */
export function decodeCursor(cursor: string | undefined, kind: 'id'): number | undefined;
export function decodeCursor(cursor: string | undefined, kind: 'text'): string | undefined;
export function decodeCursor(cursor: string | undefined, kind: CursorKind): CursorKey | undefined;
export function decodeCursor(cursor: string | undefined, kind: CursorKind): CursorKey | undefined {
    if (cursor === undefined) {
        return undefined;
    }

    let parsed: unknown;
    try {
        parsed = /^[\w-]+$/.test(cursor) ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
    }
    catch {
        throw invalidCursor();
    }

    const key: unknown = Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : undefined;
    const valid = kind === 'id'
        ? Number.isSafeInteger(key) && (key as number) >= 0 && (key as number) <= MAX_ID
        : typeof key === 'string' && !key.includes('\0');
    if (!valid) {
        throw invalidCursor();
    }

    return key as CursorKey;
}

/**
 * The absolute URL of the next page: the request's own URL (scheme, Host header,
 * path and every query parameter kept) with `cursor` replaced.
 */
export function nextPageUrl(request: Request, key: CursorKey): string {
    const url = new URL(request.url.href);
    url.searchParams.set('cursor', encodeCursor(key));
    return url.href;
}

/**
 * Keyset pagination: runs `query` ordered by `options.column` after the request's
 * cursor, fetching `limit + 1` rows to know whether there is more, and replies with
 * a JSON array of at most `limit` items plus `Link: <next>; rel="next"` when there is.
 * Lists are the hottest reads: rows go out as the database returns them (the driver
 * gives timestamps as ISO strings), without becoming model instances first.
 */
export async function paginate<M extends Model>(request: Request, h: ResponseToolkit, query: QueryBuilder<M, M[]>, options: PageOptions<M>): Promise<ResponseObject> {
    const { limit, cursor } = request.query as unknown as PageQuery;
    const after = decodeCursor(cursor, options.kind);
    if (after !== undefined) {
        query.where(options.column, '>', after);
    }

    const rows = await query.orderBy(options.column).limit(limit + 1).toKnexQuery() as ModelObject<M>[];
    const page = rows.slice(0, limit);
    const response = h.response(page.map(options.show));
    if (rows.length > limit) {
        response.header('link', `<${nextPageUrl(request, options.key(page[page.length - 1]!))}>; rel="next"`);
    }

    return response;
}
