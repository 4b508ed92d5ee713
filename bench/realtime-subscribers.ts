/**
 * The subscribing clients of the real-time benchmarks: child processes that
 * open nes and plain sockets and tally the `bench` events they receive. This
 * file is both the parent side (`Subscribers`) and the child's entry point
 * (BENCH_ROLE=subscribers).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

import WebSocket from 'ws';

import { processCpuMs } from './proc-cpu.js';

export interface SocketSpec {
    kind: 'nes' | 'ws';
    /** Groups latencies in the report, e.g. `nes@instance2`. */
    label?: string;
    port: number;
    workspaceId: number;
    token: string;
}

export interface Tally {
    latencies: number[];
    delivered: number;
    outOfOrder: number;
}

export const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- child: subscribers
const BENCH_EVENT = /"event":"bench","payload":\{"t":([\d.]+),"phase":(\d+)/;
const SEQ = /"seq":(\d+)/;

/**
 * Opens the sockets of `specs` and tallies `bench` events. Frames are read
 * with two regular expressions instead of JSON.parse, and nes is spoken
 * directly (hello with the token and the subscription, ping answers), so the
 * clients' CPU stays small next to the servers' on a small machine.
 */
async function subscribers(specs: SocketSpec[]): Promise<void> {
    const tallies = new Map<string, Tally>();
    const sockets: WebSocket[] = [];
    const receive = (label: string, last: { seq: number }, text: string) => {
        const match = BENCH_EVENT.exec(text);
        if (!match) {
            return;
        }

        const at = now();
        const key = `${match[2]}|${label}`;
        const tally = tallies.get(key) ?? { latencies: [], delivered: 0, outOfOrder: 0 };
        tallies.set(key, tally);
        tally.latencies.push(at - Number(match[1]));
        tally.delivered++;
        const seq = Number(SEQ.exec(text)![1]);
        if (last.seq >= seq) {
            tally.outOfOrder++;
        }

        last.seq = seq;
    };

    await Promise.all(specs.map(async (spec) => {
        const label = spec.label ?? '';
        const last = { seq: 0 };
        const url = spec.kind === 'ws' ? `ws://127.0.0.1:${spec.port}/ws/workspaces/${spec.workspaceId}/?token=${spec.token}` : `ws://127.0.0.1:${spec.port}/`;
        const ws = new WebSocket(url);
        sockets.push(ws);
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        if (spec.kind === 'ws') {
            ws.on('message', (data) => receive(label, last, data.toString('latin1')));
            return;
        }

        let ids = 1;
        const helloed = new Promise<void>((resolve, reject) => {
            ws.on('message', (data) => {
                const text = data.toString('latin1');
                if (text.startsWith('{"type":"pub"')) {
                    receive(label, last, text);
                }
                else if (text.startsWith('{"type":"ping"')) {
                    ws.send(`{"type":"ping","id":${++ids}}`);
                }
                else if (text.includes('"type":"hello"')) {
                    if (text.includes('"statusCode"')) {
                        reject(new Error(text));
                    }
                    else {
                        resolve();
                    }
                }
            });
        });
        ws.send(JSON.stringify({ type: 'hello', id: 1, version: '2', auth: { headers: { authorization: `Bearer ${spec.token}` } }, subs: [`/workspaces/${spec.workspaceId}`] }));
        await helloed;
    }));

    process.send!({ type: 'ready' });
    process.on('message', async (message: { type: string }) => {
        if (message.type === 'report') {
            process.send!({ type: 'report', tallies: [...tallies] });
            tallies.clear();
        }
        else if (message.type === 'close') {
            await Promise.all(sockets.map((ws) => new Promise((resolve) => {
                ws.once('close', resolve);
                ws.close();
            })));
            process.send!({ type: 'closed' });
            process.disconnect();
        }
    });
}

// ---------------------------------------------------------------- main
/** Sockets opened by child processes of this script, so client work does not skew the publisher or one another. */
export class Subscribers {
    private readonly children: ChildProcess[];
    readonly ready: Promise<void>;
    /** Every child process has started (and opens its sockets once it gets them). */
    readonly loaded: Promise<void>;
    /** When the sockets were asked for (every child process loaded), and when the last one was open and authenticated. */
    readonly timing = { asked: 0, ready: 0 };

    constructor(specs: SocketSpec[], processes = Number(process.env.BENCH_CLIENT_PROCESSES ?? 2)) {
        const count = Math.max(1, Math.min(processes, specs.length));
        this.children = Array.from({ length: count }, () => fork(fileURLToPath(import.meta.url), { env: { ...process.env, BENCH_ROLE: 'subscribers' }, serialization: 'advanced' }));
        this.loaded = Promise.all(this.children.map((child) => next(child, 'loaded'))).then(() => undefined);
        this.ready = this.open(specs, count);
    }

    private async open(specs: SocketSpec[], count: number): Promise<void> {
        await this.loaded;
        this.timing.asked = performance.now();
        this.children.forEach((child, n) => child.send({ type: 'specs', specs: specs.filter((_, i) => i % count === n) }));
        await Promise.all(this.children.map((child) => next(child, 'ready')));
        this.timing.ready = performance.now();
    }

    /** CPU seconds the clients used so far. */
    cpu(): number {
        return this.children.reduce((sum, child) => sum + processCpuMs(child.pid!) / 1000, 0);
    }

    /** Tallies by phase, each with its breakdown by socket label. */
    async report(): Promise<Map<number, Tally & { byLabel: Map<string, Tally> }>> {
        const merged = new Map<number, Tally & { byLabel: Map<string, Tally> }>();
        const add = (into: Tally, tally: Tally) => {
            for (const latency of tally.latencies) {
                into.latencies.push(latency);
            }

            into.delivered += tally.delivered;
            into.outOfOrder += tally.outOfOrder;
        };
        for (const child of this.children) {
            child.send({ type: 'report' });
            for (const [key, tally] of (await next(child, 'report') as { tallies: Array<[string, Tally]> }).tallies) {
                const [phase, label] = key.split('|') as [string, string];
                const total = merged.get(Number(phase)) ?? { latencies: [], delivered: 0, outOfOrder: 0, byLabel: new Map() };
                merged.set(Number(phase), total);
                add(total, tally);
                const part = total.byLabel.get(label) ?? { latencies: [], delivered: 0, outOfOrder: 0 };
                total.byLabel.set(label, part);
                add(part, tally);
            }
        }

        return merged;
    }

    async close(): Promise<void> {
        await Promise.all(this.children.map(async (child) => {
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.send({ type: 'close' });
            await next(child, 'closed');
            await exited;
        }));
    }
}

function next(child: ChildProcess, type: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
        const onMessage = (message: { type: string }) => {
            if (message.type === type) {
                child.off('message', onMessage);
                resolve(message);
            }
        };
        child.on('message', onMessage);
        child.once('exit', (code) => reject(new Error(`subscribers exited with ${code}`)));
    });
}

if (process.env.BENCH_ROLE === 'subscribers') {
    process.send!({ type: 'loaded' });
    process.once('message', (message: { specs: SocketSpec[] }) => {
        subscribers(message.specs).catch((err: Error) => {
            process.stderr.write(`subscribers: ${err.stack}\n`);
            process.exit(1);
        });
    });
}
