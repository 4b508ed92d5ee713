/**
 * Collaborative documents benchmark: collab beside Hocuspocus 4 (with its Redis extension), the
 * self-hosted Yjs server people pick today, on the same load, one system after the other. Each
 * server runs in a child process of its own (CPU and RSS per process, from /proc and after GC), each
 * system on a private redis-server (its traffic from INFO stats), the editors in child processes.
 * Prints one JSON document, per system:
 * - `edit`: `--editors` editors of one document over 2 instances (alternating), each inserting a
 *   marker at a random place `--rate` times a second for `--seconds`: whether every edit reached
 *   every editor and the texts are identical, remote-apply latency (marker send time → its arrival
 *   at another editor) on the same and across instances, server CPU per edit, and Redis bytes and
 *   commands per edit;
 * - `memory`: `--docs` documents with one editor each on one fresh instance, each filled with
 *   `--doc-kib` KiB of text: RSS and heap per loaded document (once the server's work settled, at
 *   least `--settle` seconds after the load), then after every editor left,
 *   whether the process's memory came back within 10 % of where it started (waits up to
 *   `--unload-wait` seconds; collab unloads an idle document within 60 s). `nativeMiB` is the RSS
 *   outside V8's heap: buffers in use (`external`) and what the C allocator keeps after they are freed.
 *
 * Run: npm run bench:docs [-- --seconds 60 --docs 1000 --systems collab,hocuspocus --phases edit,memory].
 * Hocuspocus's packages export their TypeScript sources under the `source` condition, so this
 * bench runs without `--conditions=source` (the SDK from its build) and bench/tsconfig.json maps
 * their types to their builds.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { ClientCommand, DocSpec, EditorSpec, EditorState, System } from './docs-clients.js';
import { cpuSeconds, createSystem, type Memory, type ServerProcess, type SystemUnderTest } from './docs-systems.js';

const { values: flags } = parseArgs({
    options: {
        seconds: { type: 'string', default: '60' },
        editors: { type: 'string', default: '20' },
        rate: { type: 'string', default: '5' },
        docs: { type: 'string', default: '1000' },
        'doc-kib': { type: 'string', default: '100' },
        'unload-wait': { type: 'string', default: '75' },
        settle: { type: 'string', default: '20' },
        systems: { type: 'string', default: 'collab,hocuspocus' },
        phases: { type: 'string', default: 'edit,memory' }
    }
});
const settings = {
    seconds: Number(flags.seconds),
    editors: Number(flags.editors),
    rate: Number(flags.rate),
    docs: Number(flags.docs),
    docKiB: Number(flags['doc-kib']),
    unloadWaitSeconds: Number(flags['unload-wait']),
    settleSeconds: Number(flags.settle)
};
const CLIENTS = fileURLToPath(new URL('./docs-clients.ts', import.meta.url));
const CONVERGE_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const KiB = (bytes: number) => round(bytes / 1024, 1);
const MiB = (bytes: number) => round(bytes / 1024 / 1024, 1);

function percentiles(values: number[]) {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (p: number) => (sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))]!) : null);
    return { count: sorted.length, p50: at(50), p99: at(99), max: sorted.length ? round(sorted[sorted.length - 1]!) : null };
}

/** A child process of editors, driven by messages. */
class Clients {
    readonly #child: ChildProcess;
    readonly #waiting = new Map<string, (message: Record<string, unknown>) => void>();
    readonly #failed: Promise<never>;

    constructor() {
        this.#child = fork(CLIENTS, { execArgv: ['--import', 'tsx'], serialization: 'advanced' });
        this.#failed = new Promise((_, reject) => {
            this.#child.on('message', (message: Record<string, unknown>) => {
                if (message.type === 'error') {
                    reject(new Error(`editors: ${String(message.message)}`));
                    return;
                }

                const resolve = this.#waiting.get(message.type as string);
                this.#waiting.delete(message.type as string);
                resolve?.(message);
            });
            this.#child.on('exit', (code) => reject(new Error(`the editors' process exited with ${code}`)));
        });
        this.#failed.catch(() => undefined);
    }

    /** Sends a command and waits for the answer of type `reply`. */
    ask<T = Record<string, unknown>>(command: ClientCommand, reply: string): Promise<T> {
        const answered = new Promise<T>((resolve) => this.#waiting.set(reply, resolve as (message: Record<string, unknown>) => void));
        this.#child.send(command);
        return Promise.race([answered, this.#failed]);
    }

    /** CPU seconds the editors' process has used. */
    cpuSeconds(): number {
        return cpuSeconds(this.#child.pid!);
    }

    async stop(): Promise<void> {
        if (this.#child.exitCode === null) {
            const exited = new Promise((resolve) => this.#child.once('exit', resolve));
            this.#child.kill('SIGTERM');
            await exited;
        }
    }
}

/** Editors of one document over two instances. */
async function edit(system: SystemUnderTest) {
    const instances = [await system.start(), await system.start()] as const;
    const [spec] = await system.prepare(instances[0], ['bench/edit.txt']);
    const editors: EditorSpec[] = Array.from({ length: settings.editors }, (_, id) => ({ ...spec!, id, instance: id % 2, port: instances[id % 2]!.port }));
    const clients = [new Clients(), new Clients()];
    try {
        await Promise.all(clients.map((c, n) => c.ask({ type: 'edit', system: system.name, editors: editors.filter((e) => e.instance === n), rate: settings.rate, seconds: settings.seconds }, 'ready')));
        await sleep(1000);
        const redisBefore = await system.redisCounters();
        const cpuBefore = instances.map((i) => i.cpuSeconds());
        const clientCpuBefore = clients.map((c) => c.cpuSeconds());
        const started = Date.now();
        await Promise.all(clients.map((c) => c.ask({ type: 'go' }, 'edited')));
        const editedMs = Date.now() - started;
        const sent = (await Promise.all(clients.map((c) => c.ask<{ sent: number }>({ type: 'report' }, 'report')))).reduce((sum, r) => sum + r.sent, 0);

        let states: EditorState[] = [];
        const converging = Date.now();
        const converged = () => states.every((s) => s.distinct === sent && s.markers === sent && s.hash === states[0]!.hash);
        do {
            await sleep(200);
            states = (await Promise.all(clients.map((c) => c.ask<{ editors: EditorState[] }>({ type: 'state' }, 'state')))).flatMap((r) => r.editors);
        } while (!converged() && Date.now() - converging < CONVERGE_TIMEOUT_MS);

        const elapsed = (Date.now() - started) / 1000;
        const cpu = instances.map((i, n) => i.cpuSeconds() - cpuBefore[n]!);
        const clientCpu = clients.map((c, n) => c.cpuSeconds() - clientCpuBefore[n]!);
        const redisAfter = await system.redisCounters();
        const reports = await Promise.all(clients.map((c) => c.ask<{ same: number[]; cross: number[] }>({ type: 'report' }, 'report')));
        const same = reports.flatMap((r) => r.same);
        const cross = reports.flatMap((r) => r.cross);
        const bytes = redisAfter.inputBytes + redisAfter.outputBytes - redisBefore.inputBytes - redisBefore.outputBytes;
        return {
            editors: settings.editors,
            instances: 2,
            /** How long the edits took (`--seconds` when the editors kept their schedule). */
            seconds: round(editedMs / 1000, 1),
            edits: sent,
            expectedApplies: sent * (settings.editors - 1),
            applied: same.length + cross.length,
            missingMarkers: states.reduce((sum, s) => sum + sent - s.distinct, 0),
            identical: states.every((s) => s.hash === states[0]!.hash),
            convergedAfterMs: converged() ? Date.now() - converging : null,
            latencyMs: { all: percentiles([...same, ...cross]), sameInstance: percentiles(same), crossInstance: percentiles(cross) },
            serverCpu: {
                coresPerInstance: cpu.map((s) => round(s / elapsed, 3)),
                msPerEdit: round(cpu.reduce((a, b) => a + b, 0) * 1000 / sent, 3)
            },
            editorsCpu: { coresPerProcess: clientCpu.map((s) => round(s / elapsed, 3)) },
            redis: {
                bytesPerEdit: Math.round(bytes / sent),
                inputBytesPerEdit: Math.round((redisAfter.inputBytes - redisBefore.inputBytes) / sent),
                outputBytesPerEdit: Math.round((redisAfter.outputBytes - redisBefore.outputBytes) / sent),
                commandsPerEdit: round((redisAfter.commands - redisBefore.commands) / sent)
            }
        };
    }
    finally {
        await Promise.all(clients.map(async (c) => {
            await c.ask({ type: 'close' }, 'closed').catch(() => undefined);
            await c.stop();
        }));
        await Promise.all(instances.map((i) => i.stop()));
    }
}

/**
 * The server's memory once the work the load caused is done (collab stores each update, writes
 * each file, and puts each document to sleep 10–12 s after its last edit; Hocuspocus stores
 * nothing): read every 2 s from 3 s on, until the heap changes by less than 2 % between two
 * readings (RSS too) at least `--settle` seconds after the load, or after 45 s.
 */
async function settled(server: ServerProcess): Promise<Memory & { afterSeconds: number }> {
    const started = Date.now();
    const heap = (m: Memory) => m.heapUsed + m.external;
    await sleep(3000);
    let previous = await server.memory();
    for (;;) {
        await sleep(2000);
        const current = await server.memory();
        const stable = Math.abs(heap(current) - heap(previous)) < 0.02 * heap(previous) && Math.abs(current.rss - previous.rss) < 0.02 * previous.rss
            && Date.now() - started >= settings.settleSeconds * 1000;
        if (stable || Date.now() - started > 45_000) {
            return { ...current, afterSeconds: round((Date.now() - started) / 1000, 0) };
        }

        previous = current;
    }
}

const native = (m: Memory) => m.rss - m.heapPhysical;

/** Many documents, one editor each, on one fresh instance: memory loaded, then after they leave. */
async function memory(system: SystemUnderTest) {
    const server = await system.start();
    const paths = Array.from({ length: settings.docs }, (_, i) => `bench/doc-${i}.txt`);
    const specs: DocSpec[] = await system.prepare(server, paths);
    const clients = new Clients();
    try {
        await sleep(1000);
        const base = await server.memory();
        await clients.ask({ type: 'load', system: system.name, docs: specs, bytes: settings.docKiB * 1024 }, 'loaded');
        const loaded = await settled(server);
        await clients.ask({ type: 'close' }, 'closed');
        const closedAt = Date.now();
        let after: Memory;
        const heap = (m: Memory) => m.heapUsed + m.external;
        do {
            await sleep(5000);
            after = await server.memory();
        } while ((after.rss > base.rss * 1.1 || heap(after) > heap(base) * 1.1) && Date.now() - closedAt < settings.unloadWaitSeconds * 1000);

        return {
            documents: settings.docs,
            kibEach: settings.docKiB,
            perDocumentKiB: { rss: KiB((loaded.rss - base.rss) / settings.docs), heapAndExternal: KiB((heap(loaded) - heap(base)) / settings.docs) },
            loadedMeasuredAfterSeconds: loaded.afterSeconds,
            rssMiB: { start: MiB(base.rss), loaded: MiB(loaded.rss), afterClose: MiB(after.rss) },
            heapAndExternalMiB: { start: MiB(heap(base)), loaded: MiB(heap(loaded)), afterClose: MiB(heap(after)) },
            nativeMiB: { start: MiB(native(base)), loaded: MiB(native(loaded)), afterClose: MiB(native(after)) },
            backWithinTenPercent: { rss: after.rss <= base.rss * 1.1, heapAndExternal: heap(after) <= heap(base) * 1.1 },
            secondsAfterClose: round((Date.now() - closedAt) / 1000, 0)
        };
    }
    finally {
        await clients.stop();
        await server.stop();
    }
}

async function bench(name: System) {
    const system = await createSystem(name);
    const phases = flags.phases.split(',');
    const result: Record<string, unknown> = {};
    try {
        if (phases.includes('edit')) {
            result.edit = await edit(system);
        }

        if (phases.includes('memory')) {
            result.memory = await memory(system);
        }
    }
    finally {
        await system.stop();
    }

    return result;
}

const output: Record<string, unknown> = { machine: { cpus: cpus().length, loadAverageAtStart: loadavg().map((n) => round(n)) }, settings };
for (const name of flags.systems.split(',') as System[]) {
    output[name] = await bench(name);
}

process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
