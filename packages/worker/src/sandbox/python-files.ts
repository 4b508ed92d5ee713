import { readFileSync } from 'node:fs';

/** The Python programs of the sandbox, shipped as files beside the sources (src/sandbox/python). */
export type PythonFile = 'spawner.py' | 'zygote.py';

// From src/sandbox (run from source) or dist/sandbox (built): the .py files stay in src.
const PLACES = ['./python/', '../../src/sandbox/python/'];

const loaded = new Map<PythonFile, string>();

/** The text of one of the sandbox's Python programs; throws when the package lacks it. */
export function pythonSource(name: PythonFile): string {
    let text = loaded.get(name);
    if (text === undefined) {
        const errors: string[] = [];
        for (const place of PLACES) {
            try {
                text = readFileSync(new URL(place + name, import.meta.url), 'utf8');
                break;
            }
            catch (error) {
                errors.push((error as Error).message);
            }
        }
        if (text === undefined) {
            throw new Error(`cannot read the sandbox's ${name}: ${errors.join('; ')}`);
        }
        loaded.set(name, text);
    }
    return text;
}
