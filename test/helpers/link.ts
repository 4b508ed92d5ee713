/**
 * The targets of a `Link` header by relation, as RFC 8288 writes them
 * (`<url>; rel="next", <url>; rel="prev"`). A header that is there but not
 * in that form throws, so a test never takes a malformed header for "no link".
 */
export function parseLink(header: unknown): Map<string, URL> {
    const links = new Map<string, URL>();
    if (header === undefined || header === null) {
        return links;
    }

    for (const entry of String(header).split(/,(?=\s*<)/)) {
        const match = /^\s*<([^>]*)>((?:\s*;\s*[a-z*]+="[^"]*")+)\s*$/.exec(entry);
        if (!match) {
            throw new Error(`malformed Link header: ${String(header)}`);
        }

        const rels = /rel="([^"]*)"/.exec(match[2]!)?.[1];
        if (!rels) {
            throw new Error(`Link without rel: ${String(header)}`);
        }

        for (const rel of rels.split(' ')) {
            links.set(rel, new URL(match[1]!));
        }
    }

    return links;
}

/** The `rel="next"` target of a `Link` header, if any. */
export function nextLink(header: unknown): URL | undefined {
    return parseLink(header).get('next');
}

/** The path and query of the `rel="next"` target, as `server.inject` takes a URL. */
export function nextPath(header: unknown): string | undefined {
    const next = nextLink(header);
    return next && next.pathname + next.search;
}
