/** OID of PostgreSQL's `timestamptz`. */
export const TIMESTAMPTZ_OID = 1184;

// PostgreSQL's text form of a timestamptz in a UTC session: 2026-11-26 15:01:26.288123+00
const UTC_TEXT = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00$/;

/**
 * A parser of PostgreSQL's timestamptz text that gives what the API shows:
 * the form of `Date#toISOString()` (milliseconds, `Z`). UTC text, the common
 * case, is rewritten without building a Date; anything else goes through
 * `parseAsDate` (the driver's own parser).
 */
export function isoTimestampParser(parseAsDate: (text: string) => unknown): (text: string) => string {
    return (text) => {
        const utc = UTC_TEXT.exec(text);
        if (utc) {
            return `${utc[1]}T${utc[2]}.${(utc[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
        }

        const parsed = parseAsDate(text);
        return parsed instanceof Date ? parsed.toISOString() : String(parsed);
    };
}
