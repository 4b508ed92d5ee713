import type { CgroupHost } from './cgroups.js';

/** What every run of this process gets unless its RunSpec says otherwise. */
export interface SandboxDefaults {
    /** The per-job cgroups found at start-up; undefined where the host has none. */
    cgroups?: CgroupHost | undefined;
    /** SANDBOX_DISK_MB. */
    diskMb?: number | undefined;
}

let current: SandboxDefaults = {};

/** Sets the defaults of runProgram for this process (the worker does, at start-up). */
export function setSandboxDefaults(defaults: SandboxDefaults): void {
    current = { ...defaults };
}

/** The defaults of runProgram for this process. */
export function sandboxDefaults(): SandboxDefaults {
    return current;
}
