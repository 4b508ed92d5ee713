// What the editors of the documents bench type: markers that name their editor, number, instance and
// send time, inserted whole between two existing markers, so none is ever split and each can be
// found in every editor's text at the end.
import { performance } from 'node:perf_hooks';

import type * as Y from 'yjs';

const MARKER = /\{(\d+):(\d+):(\d+):(\d+(?:\.\d+)?)\}/g;

/** Wall-clock milliseconds, comparable across the bench's processes. */
export const now = () => performance.timeOrigin + performance.now();

/** The `n`th marker of `editor`, whose socket is on `instance`. */
export function marker(editor: number, n: number, instance: number): string {
    return `{${editor}:${n}:${instance}:${now().toFixed(2)}}`;
}

/** Inserts `text` at a random boundary between markers of `content` (or at its start or end). */
export function insertAtRandom(content: Y.Text, text: string, random: () => number = Math.random): void {
    const current = content.toJSON();
    let at = Math.floor(random() * (current.length + 1));
    if (at > 0 && at < current.length && current[at - 1] !== '}') {
        const next = current.indexOf('}', at);
        at = next === -1 ? current.length : next + 1;
    }

    content.insert(at, text);
}

/** How many markers a text holds, and how many distinct ones. */
export function countMarkers(text: string): { markers: number; distinct: number } {
    const all = [...text.matchAll(MARKER)].map((m) => m[0]);
    return { markers: all.length, distinct: new Set(all).size };
}

/** Remote-apply latencies an editor saw: from the marker's send time to its arrival here, by instance pairing. */
export class LatencyTally {
    readonly same: number[] = [];
    readonly cross: number[] = [];

    constructor(private readonly instance: number) {}

    /** Records the markers of a remote insert. */
    record(inserted: string): void {
        const at = now();
        for (const m of inserted.matchAll(MARKER)) {
            (Number(m[3]) === this.instance ? this.same : this.cross).push(at - Number(m[4]));
        }
    }
}
