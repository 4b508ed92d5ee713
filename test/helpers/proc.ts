// What /proc (Linux) says of processes, for tests and benchmarks.
import { readFileSync } from 'node:fs';

/** The fields of /proc/PID/stat after the command name (state first); undefined once the process is gone. */
export function statFields(pid: number): string[] | undefined {
    try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    }
    catch {
        return undefined;
    }
}

/** Live child processes of a process. */
export function childrenOf(pid: number): number[] {
    try {
        return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
    }
    catch {
        return [];
    }
}

/** A process and its live descendants. */
export function treeOf(pid: number): number[] {
    const tree = [pid];
    for (let i = 0; i < tree.length; i++) {
        tree.push(...childrenOf(tree[i]!));
    }
    return tree;
}

/** The node processes of a process tree whose arguments include `text`. */
export function nodeProcesses(root: number, text: string): number[] {
    return treeOf(root).filter((pid) => {
        try {
            const [program, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
            return /(^|\/)node$/.test(program!) && args.some((arg) => arg.includes(text));
        }
        catch {
            return false;
        }
    });
}

/**
 * Whether a running process was started with `GLIBC_TUNABLES` set to `value`.
 * glibc 2.36 cuts the variable after its first setting where /proc shows it, while reading it
 * (the process itself sees it whole): a start of `value` up to a setting's end counts.
 */
export function startedWithTunables(pid: number, value: string): boolean {
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((item) => item.startsWith('GLIBC_TUNABLES='));
    const seen = entry?.slice('GLIBC_TUNABLES='.length);
    return !!seen && (seen === value || value.startsWith(`${seen}:`));
}
