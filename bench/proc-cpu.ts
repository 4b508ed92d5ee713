// CPU accounting from /proc, per process and per process tree, for the benchmarks.
import { readFileSync } from 'node:fs';

import { statFields, treeOf } from '../test/helpers/proc.js';

const TICKS_PER_S = 100;

/** Busy CPU time of the whole host (all tenants), in ms. */
export function hostBusyMs(): number {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3]! + fields[4]!;
    return ((fields.reduce((a, b) => a + b, 0) - idle) * 1000) / TICKS_PER_S;
}

/** CPU time of one process itself (not its children), in ms; 0 once it is gone. */
export function processCpuMs(pid: number): number {
    const fields = statFields(pid);
    return fields ? ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S : 0;
}

/**
 * CPU time of each process of a tree, with what it spent in the children it
 * reaped: summed over a tree whose long-lived processes stay, the delta
 * between two readings is everything the tree ran, short-lived processes
 * (sandboxes, jobs) included.
 */
export function treeCpuMs(root: number): Map<number, number> {
    const times = new Map<number, number>();
    for (const pid of treeOf(root)) {
        const fields = statFields(pid);
        if (fields) {
            times.set(pid, ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_S);
        }
    }
    return times;
}

/** CPU spent between two readings of the same processes (processes new in `after` count from 0). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
    let total = 0;
    for (const [pid, ms] of after) {
        total += ms - (before.get(pid) ?? 0);
    }
    return total;
}

/** Resident memory of one process, in MB: a fork's cost grows with it. */
export function processRssMb(pid: number): number {
    try {
        const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
        return Math.round(Number(line?.split(/\s+/)[1] ?? 0) / 1024);
    }
    catch {
        return 0;
    }
}
