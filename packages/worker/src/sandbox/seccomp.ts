import { endianness } from 'node:os';

/** System calls no program needs; the filter answers them with EPERM. */
export const BLOCKED_SYSCALLS = [
    'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp',
    'mount', 'umount2', 'pivot_root', 'mount_setattr', 'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick',
    'unshare', 'setns',
    'bpf', 'perf_event_open', 'userfaultfd', 'fanotify_init', 'open_by_handle_at', 'lookup_dcookie',
    'keyctl', 'add_key', 'request_key',
    'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load',
    'reboot', 'swapon', 'swapoff', 'acct', 'quotactl', 'syslog', 'vhangup',
    'io_uring_setup', 'io_uring_enter', 'io_uring_register',
    // x86 only
    'iopl', 'ioperm', 'uselib'
] as const;

/** A blocked system call's name. */
export type BlockedSyscall = (typeof BLOCKED_SYSCALLS)[number];

/** One architecture the filter knows: its audit id and its system call numbers. */
export interface SeccompArch {
    name: string;
    /** AUDIT_ARCH_* as seccomp_data.arch reports it. */
    audit: number;
    /** Bit that marks a second ABI sharing the audit id (x32 on x86_64), refused whole. */
    abiBit?: number;
    numbers: Partial<Record<BlockedSyscall, number>>;
}

/** From the kernel's asm/unistd_64.h. */
const X86_64: SeccompArch = {
    name: 'x86_64',
    audit: 0xc000003e,
    abiBit: 0x40000000,
    numbers: {
        ptrace: 101, syslog: 103, uselib: 134, vhangup: 153, pivot_root: 155, acct: 163, mount: 165, umount2: 166,
        swapon: 167, swapoff: 168, reboot: 169, iopl: 172, ioperm: 173, init_module: 175, delete_module: 176,
        quotactl: 179, lookup_dcookie: 212, kexec_load: 246, add_key: 248, request_key: 249, keyctl: 250,
        unshare: 272, perf_event_open: 298, fanotify_init: 300, open_by_handle_at: 304, setns: 308,
        process_vm_readv: 310, process_vm_writev: 311, kcmp: 312, finit_module: 313, kexec_file_load: 320,
        bpf: 321, userfaultfd: 323, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
        open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442
    }
};

/** From the kernel's asm-generic/unistd.h. */
const AARCH64: SeccompArch = {
    name: 'aarch64',
    audit: 0xc00000b7,
    numbers: {
        lookup_dcookie: 18, umount2: 39, mount: 40, pivot_root: 41, vhangup: 58, quotactl: 60, acct: 89,
        unshare: 97, kexec_load: 104, init_module: 105, delete_module: 106, syslog: 116, ptrace: 117,
        reboot: 142, add_key: 217, request_key: 218, keyctl: 219, swapon: 224, swapoff: 225,
        perf_event_open: 241, fanotify_init: 262, open_by_handle_at: 265, setns: 268, process_vm_readv: 270,
        process_vm_writev: 271, kcmp: 272, finit_module: 273, bpf: 280, userfaultfd: 282, kexec_file_load: 294,
        io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, open_tree: 428, move_mount: 429,
        fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442
    }
};

/** The architectures the filter supports, by `process.arch`. */
export const SECCOMP_ARCHES: Readonly<Record<string, SeccompArch>> = { x64: X86_64, arm64: AARCH64 };

// Classic BPF, as in linux/filter.h and linux/seccomp.h.
const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_RET_K = 0x06;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;
const EPERM = 1;
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const MAX_JUMP = 255;

/** One instruction: struct sock_filter. */
export interface BpfInstruction {
    code: number;
    jt: number;
    jf: number;
    k: number;
}

/** What a denied call returns: SECCOMP_RET_ERRNO with EPERM. */
export const SECCOMP_DENY = (SECCOMP_RET_ERRNO | EPERM) >>> 0;

/** What an allowed call returns. */
export const SECCOMP_ALLOW = SECCOMP_RET_ALLOW;

/**
 * The filter as instructions: a call from another architecture (or the x32
 * ABI) is denied, a blocked number is denied, anything else is allowed.
 * Denied calls fail with EPERM rather than killing the program.
 */
export function seccompProgram(arch: SeccompArch): BpfInstruction[] {
    const numbers = [...new Set(Object.values(arch.numbers))].sort((a, b) => a - b);
    const body: Array<(denyAt: number, index: number) => BpfInstruction> = [];
    body.push(() => ({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: OFFSET_ARCH }));
    body.push((deny, i) => ({ code: BPF_JEQ_K, jt: 0, jf: deny - i - 1, k: arch.audit }));
    body.push(() => ({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: OFFSET_NR }));
    if (arch.abiBit !== undefined) {
        const bit = arch.abiBit;
        body.push((deny, i) => ({ code: BPF_JGE_K, jt: deny - i - 1, jf: 0, k: bit }));
    }
    for (const nr of numbers) {
        body.push((deny, i) => ({ code: BPF_JEQ_K, jt: deny - i - 1, jf: 0, k: nr }));
    }
    const denyAt = body.length + 1;
    if (denyAt > MAX_JUMP) {
        throw new RangeError('too many blocked system calls for one jump');
    }
    return [
        ...body.map((make, index) => make(denyAt, index)),
        { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_ALLOW },
        { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_DENY }
    ];
}

/** The instructions as the kernel reads them (struct sock_filter[], host byte order). */
export function encodeProgram(program: readonly BpfInstruction[]): Buffer {
    const buffer = Buffer.alloc(program.length * 8);
    const little = endianness() === 'LE';
    program.forEach((insn, index) => {
        const at = index * 8;
        if (little) {
            buffer.writeUInt16LE(insn.code, at);
            buffer.writeUInt32LE(insn.k >>> 0, at + 4);
        }
        else {
            buffer.writeUInt16BE(insn.code, at);
            buffer.writeUInt32BE(insn.k >>> 0, at + 4);
        }
        buffer.writeUInt8(insn.jt, at + 2);
        buffer.writeUInt8(insn.jf, at + 3);
    });
    return buffer;
}

let compiled: Buffer | undefined;

/**
 * The compiled filter for this host, as bwrap's `--seccomp FD` reads it.
 * Throws a RangeError on an architecture the filter does not know: the
 * sandbox refuses to run rather than run unfiltered.
 */
export function seccompFilter(arch: string = process.arch): Buffer {
    if (arch !== process.arch) {
        return encodeProgram(seccompProgram(knownArch(arch)));
    }
    compiled ??= encodeProgram(seccompProgram(knownArch(arch)));
    return compiled;
}

function knownArch(arch: string): SeccompArch {
    const known = SECCOMP_ARCHES[arch];
    if (!known) {
        throw new RangeError(`no seccomp filter for the ${arch} architecture (supported: x64, arm64)`);
    }
    return known;
}
