import { isUtf8 } from 'node:buffer';

import fc from 'fast-check';

/** What escaped every handler of the process while a fuzz test ran. */
export interface CrashRecorder {
    readonly errors: Array<{ kind: 'unhandledRejection' | 'uncaughtException'; error: string }>;
    /** Removes the handlers. */
    stop(): void;
}

/**
 * Records unhandled rejections and uncaught exceptions instead of letting
 * them end the test process, so a test can assert that there were none
 * (on Node 20 either would end a real server).
 */
export function recordCrashes(): CrashRecorder {
    const errors: CrashRecorder['errors'] = [];
    const describe = (err: unknown) => err instanceof Error ? err.stack ?? err.message : String(err);
    const onRejection = (err: unknown) => errors.push({ kind: 'unhandledRejection', error: describe(err) });
    const onException = (err: unknown) => errors.push({ kind: 'uncaughtException', error: describe(err) });
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    return {
        errors,
        stop: () => {
            process.off('unhandledRejection', onRejection);
            process.off('uncaughtException', onException);
        }
    };
}

/** Number of fast-check runs: `FUZZ_RUNS_SCALE` (e.g. 10 for a long local run) multiplies the bounded default. */
export function runs(base: number): number {
    return Math.max(1, Math.round(base * Number(process.env.FUZZ_RUNS_SCALE ?? 1)));
}

/** Shortens runs of one repeated character (`xxxx…` becomes `x{×70000}`), so a counterexample with a huge string stays readable. */
export function compact(text: string): string {
    return text.replace(/(.)\1{39,}/gs, (run, char: string) => `${char}{×${run.length}}`);
}

/**
 * fast-check parameters of a bounded fuzz property: `base` runs (see {@link runs}), a random seed that
 * the failure report prints with the shrunk counterexample (replay with `FUZZ_SEED` and `FUZZ_PATH`).
 */
export function fuzzParameters<T>(base: number): fc.Parameters<T> {
    const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
    return {
        numRuns: runs(base),
        ...(seed === undefined ? {} : { seed, path: process.env.FUZZ_PATH }),
        reporter: (details) => {
            if (details.failed) {
                throw new Error(compact(fc.defaultReportMessage(details) ?? 'property failed'));
            }
        }
    };
}

/** Strings a hostile client sends: NUL, control and lone-surrogate characters, unicode, SQL and path tricks, long runs. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    { weight: 2, arbitrary: fc.constantFrom('\u0000', 'a\u0000b', '\u0000'.repeat(3), '\uD800', '\uDFFF', '\uFFFF', '\u202E', '\r\n', '%00', '%', '..', '../..', '/', '//', "' OR 1=1 --", '$where', '__proto__', 'constructor', 'NaN', '-1', '0', '1e309', '9'.repeat(30), 'null', 'true', '') },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('x', '\u0000', 'é', '😀', '['), fc.integer({ min: 256, max: 70_000 })).map(([unit, n]) => unit.repeat(n)) }
);

/** JSON values of any type, including the awkward ones (empty, nested, numeric edge cases, nasty strings). */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 3, arbitrary: nastyString },
    { weight: 2, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 2 ** 31, 2 ** 53, -(2 ** 63), 1e308)) },
    { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.array(nastyString, { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.dictionary(nastyString, nastyString, { maxKeys: 4 }) }
);

/** JSON text nested `depth` levels deep, as arrays or objects, around `inner`. */
export function nestedJson(depth: number, kind: 'array' | 'object', inner = '1'): string {
    return kind === 'array' ? '['.repeat(depth) + inner + ']'.repeat(depth) : '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}

/** A deeply nested JSON text (past the 64-level limit, sometimes far past it). */
export const deepJson: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 60, max: 20_000 }), fc.constantFrom('array' as const, 'object' as const)).map(([depth, kind]) => nestedJson(depth, kind));

/** Bytes that are not valid UTF-8 (lone continuation bytes, overlongs, truncated sequences, 0xFF), mixed with NUL, quote and backslash. */
export const invalidUtf8: fc.Arbitrary<Buffer> = fc.array(fc.constantFrom(0x80, 0xbf, 0xc0, 0xc1, 0xc3, 0xe2, 0xed, 0xf5, 0xff, 0xfe, 0x00, 0x22, 0x5c), { minLength: 1, maxLength: 16 })
    .map((bytes) => Buffer.from(bytes))
    .filter((bytes) => !isUtf8(bytes));

/** An object whose keys come from `fields` (the API's own names, so validation is passed or reached) and whose values are {@link anyJson}. */
export function fieldsOf(fields: string[], value: fc.Arbitrary<unknown> = anyJson): fc.Arbitrary<Record<string, unknown>> {
    return fc.dictionary(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...fields) }, { weight: 1, arbitrary: nastyString }), value, { maxKeys: 6 });
}

/** Percent-encodes the UTF-8 bytes of `value` (lone surrogates as U+FFFD), keeping `keep` characters as they are. */
export function percentEncode(value: string, keep = ''): string {
    let out = '';
    for (const byte of Buffer.from(value)) {
        const char = String.fromCharCode(byte);
        out += /[A-Za-z0-9\-_.~]/.test(char) || (byte < 0x80 && keep.includes(char)) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }

    return out;
}
