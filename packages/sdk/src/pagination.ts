import type { ApiRequest, ApiResponse, Transport } from './http.js';

/** One page of a list. */
export interface Page<T> {
    /** The items of this page. */
    data: T[];
    /** Whether a next page exists. */
    hasMore: boolean;
    /** The cursor of the next page (pass it as `cursor`), or null on the last page. */
    nextCursor: string | null;
}

/**
 * What every `list()` returns: a Promise of the first page that is also an async iterator over
 * every item of every page (`for await (const p of client.projects.list())`).
 */
export interface ListPromise<T> extends Promise<Page<T>>, AsyncIterable<T> {
    /** Collects the items of every page (at most `limit` items when given). */
    toArray(options?: { limit?: number }): Promise<T[]>;
}

const nextUrls = new WeakMap<Page<unknown>, string | null>();

/** The target of the `rel="next"` link of a `Link` header. */
export function nextLink(header: string | null): string | null {
    if (!header) {
        return null;
    }

    for (const match of header.matchAll(/<([^>]*)>([^,<]*)/g)) {
        const rel = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(match[2]!)?.[1];
        if (rel?.split(/\s+/).includes('next')) {
            return match[1]!;
        }
    }

    return null;
}

/** Where a next link points, kept on the client's origin so the token never leaves it. */
function resolveNext(link: string, requestUrl: string, baseUrl: string): string {
    const target = new URL(link, requestUrl);
    const base = new URL(baseUrl);
    return target.origin === base.origin ? target.href : new URL(`${target.pathname}${target.search}`, base.origin).href;
}

/** Lists a route page by page, following `Link: <…>; rel="next"`. */
export function paginate<T>(transport: Transport, request: ApiRequest): ListPromise<T> {
    const fetchPage = async (url?: string): Promise<Page<T>> => {
        const response: ApiResponse<T[] | undefined> = await transport.request<T[]>({ ...request, url });
        const link = nextLink(response.headers.get('link'));
        const next = link === null ? null : resolveNext(link, response.url, transport.baseUrl);
        const page: Page<T> = {
            data: Array.isArray(response.data) ? response.data : [],
            hasMore: next !== null,
            nextCursor: next === null ? null : new URL(next).searchParams.get('cursor')
        };
        nextUrls.set(page, next);
        return page;
    };

    const first = fetchPage();
    async function* items(): AsyncGenerator<T> {
        let page = await first;
        for (;;) {
            yield* page.data;
            const next = nextUrls.get(page);
            if (!next) {
                return;
            }

            page = await fetchPage(next);
        }
    }

    const toArray = async ({ limit = Infinity }: { limit?: number } = {}): Promise<T[]> => {
        const all: T[] = [];
        if (limit <= 0) {
            return all;
        }

        for await (const item of items()) {
            all.push(item);
            if (all.length >= limit) {
                break;
            }
        }

        return all;
    };

    return Object.assign(first, { [Symbol.asyncIterator]: items, toArray });
}
