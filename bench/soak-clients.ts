// A client process of the soak benchmark (bench/soak.ts), driven over IPC. It holds "staying"
// sockets, which must receive every `soak` event of their workspace exactly once and in seq order,
// and runs churners that connect, subscribe and drop at random moments. Both transports are spoken
// with raw `ws` sockets (nes's JSON protocol by hand, pings answered) and frames are read with
// regular expressions, so 5,000 sockets cost the harness little next to the server.
import WebSocket from 'ws';

/** One staying socket. */
export interface StaySpec {
    kind: 'nes' | 'ws';
    workspaceId: number;
    token: string;
    /** Source address on the loopback (127.x.y.z): spreads sockets over IPs, as real clients are. */
    localAddress: string;
}

/** One churner: connects again and again with this user to one of its workspaces. */
export interface ChurnSpec {
    token: string;
    workspaceIds: number[];
    localAddress: string;
}

/** How the staying sockets of this process did against the events published. */
export interface StayReport {
    sockets: number;
    /** Sockets that got every event of their workspace exactly once, in seq order. */
    exact: number;
    lost: number;
    duplicated: number;
    outOfOrder: number;
    /** Staying sockets the server closed (or that errored) before the end. */
    closedEarly: number;
    closeCodes: Record<string, number>;
}

/** Where a churner dropped its socket, with how many cycles ended there. */
export type ChurnPhase = 'handshake' | 'hello' | 'subscribe' | 'after';

const SOAK_EVENT = /"event":"soak"/;
const SEQ = /"seq":(\d+)/;
const PHASES: ChurnPhase[] = ['handshake', 'hello', 'subscribe', 'after'];

interface Stay {
    spec: StaySpec;
    ws: WebSocket;
    received: number;
    last: number;
    duplicated: number;
    outOfOrder: number;
    closed?: number;
}

const stays: Stay[] = [];
let port = 0;
let churning = false;
const churnStats = { cycles: 0, byPhase: Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<ChurnPhase, number>, refused: {} as Record<string, number>, errors: 0 };
const churnLoops: Promise<void>[] = [];

const random = (n: number) => Math.floor(Math.random() * n);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function url(kind: 'nes' | 'ws', workspaceId: number, token: string, query = ''): string {
    return kind === 'ws' ? `ws://127.0.0.1:${port}/ws/workspaces/${workspaceId}/?token=${token}${query}` : `ws://127.0.0.1:${port}/`;
}

function hello(token: string, subs: string[]): string {
    return JSON.stringify({ type: 'hello', id: 1, version: '2', auth: { headers: { authorization: `Bearer ${token}` } }, subs });
}

function receive(stay: Stay, text: string): void {
    if (!SOAK_EVENT.test(text)) {
        return;
    }

    const seq = Number(SEQ.exec(text)?.[1] ?? 0);
    stay.received++;
    if (seq <= stay.last) {
        stay.duplicated++;
        return;
    }

    if (seq !== stay.last + 1) {
        stay.outOfOrder++;
    }

    stay.last = seq;
}

/** Opens one staying socket; resolves once it is subscribed. */
function openStay(spec: StaySpec): Promise<void> {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(url(spec.kind, spec.workspaceId, spec.token), { localAddress: spec.localAddress, perMessageDeflate: false });
        const stay: Stay = { spec, ws, received: 0, last: 0, duplicated: 0, outOfOrder: 0 };
        ws.on('error', () => undefined);
        ws.once('close', (code) => {
            stay.closed = code;
            reject(new Error(`staying socket closed with ${code} before it was subscribed`));
        });
        ws.once('open', () => {
            stays.push(stay);
            if (spec.kind === 'ws') {
                ws.on('message', (data) => receive(stay, data.toString('latin1')));
                resolve();
                return;
            }

            ws.on('message', (data) => {
                const text = data.toString('latin1');
                if (text.startsWith('{"type":"pub"')) {
                    receive(stay, text);
                }
                else if (text.startsWith('{"type":"ping"')) {
                    ws.send('{"type":"ping","id":2}');
                }
                else if (text.startsWith('{"type":"hello"')) {
                    if (text.includes('"statusCode"')) {
                        reject(new Error(text));
                    }
                    else {
                        resolve();
                    }
                }
            });
            ws.send(hello(spec.token, [`/workspaces/${spec.workspaceId}`]));
        });
    });
}

async function openStays(specs: StaySpec[], concurrency: number): Promise<void> {
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < specs.length) {
            await openStay(specs[next++]!);
        }
    }));
}

/** One connect-subscribe-drop cycle; resolves once the socket is closed. */
function churnOnce(spec: ChurnSpec): Promise<void> {
    const phase = PHASES[random(PHASES.length)]!;
    const kind = random(2) ? 'nes' : 'ws';
    const workspaceId = spec.workspaceIds[random(spec.workspaceIds.length)]!;
    const resume = random(2) === 0;
    const query = kind === 'ws' && resume ? '&since=0' : '';
    const ws = new WebSocket(url(kind, workspaceId, spec.token, query), { localAddress: spec.localAddress, perMessageDeflate: false });
    churnStats.byPhase[phase]++;
    const drop = () => (random(2) ? ws.terminate() : ws.close());
    const dropSoon = () => {
        const ms = random(4);
        if (ms) {
            setTimeout(drop, ms);
        }
        else {
            drop();
        }
    };

    return new Promise((resolve) => {
        ws.on('error', () => undefined);
        ws.once('close', (code) => {
            if (code >= 1008 && code !== 1012 && code !== 1005 && code !== 1006) {
                churnStats.refused[code] = (churnStats.refused[code] ?? 0) + 1;
            }

            resolve();
        });
        if (phase === 'handshake') {
            setTimeout(() => ws.terminate(), random(6));
            return;
        }

        ws.once('open', () => {
            if (kind === 'ws') {
                if (phase === 'after') {
                    setTimeout(drop, random(3000));
                }
                else {
                    dropSoon();
                }

                return;
            }

            const sub = resume ? `/workspaces/${workspaceId}/since/0` : `/workspaces/${workspaceId}`;
            ws.on('message', (data) => {
                const text = data.toString('latin1');
                if (text.startsWith('{"type":"ping"')) {
                    ws.send('{"type":"ping","id":9}');
                }
                else if (text.startsWith('{"type":"hello"') && phase !== 'hello') {
                    ws.send(JSON.stringify({ type: 'sub', id: 2, path: sub }));
                    if (phase === 'subscribe') {
                        dropSoon();
                    }
                }
                else if (text.startsWith('{"type":"sub"') && phase === 'after') {
                    setTimeout(drop, random(3000));
                }
            });
            ws.send(hello(spec.token, []));
            if (phase === 'hello') {
                dropSoon();
            }
        });
    });
}

async function churn(spec: ChurnSpec): Promise<void> {
    while (churning) {
        try {
            await churnOnce(spec);
            churnStats.cycles++;
        }
        catch {
            churnStats.errors++;
        }

        await sleep(random(200));
    }
}

function report(expected: Record<number, number>): StayReport {
    const result: StayReport = { sockets: stays.length, exact: 0, lost: 0, duplicated: 0, outOfOrder: 0, closedEarly: 0, closeCodes: {} };
    for (const stay of stays) {
        const want = expected[stay.spec.workspaceId] ?? 0;
        const distinct = stay.received - stay.duplicated;
        result.lost += Math.max(0, want - distinct);
        result.duplicated += stay.duplicated;
        result.outOfOrder += stay.outOfOrder;
        if (stay.closed !== undefined) {
            result.closedEarly++;
            result.closeCodes[stay.closed] = (result.closeCodes[stay.closed] ?? 0) + 1;
        }

        if (distinct === want && stay.duplicated === 0 && stay.outOfOrder === 0 && stay.last === want) {
            result.exact++;
        }
    }

    return result;
}

type Message =
    | { type: 'open'; port: number; specs: StaySpec[]; concurrency: number }
    | { type: 'churn'; specs: ChurnSpec[] }
    | { type: 'stop-churn' }
    | { type: 'behind'; expected: Record<number, number> }
    | { type: 'report'; expected: Record<number, number> }
    | { type: 'close' };

async function handle(message: Message): Promise<void> {
    if (message.type === 'open') {
        port = message.port;
        const t0 = Date.now();
        await openStays(message.specs, message.concurrency);
        process.send!({ type: 'opened', ms: Date.now() - t0 });
    }
    else if (message.type === 'churn') {
        churning = true;
        churnLoops.push(...message.specs.map(churn));
        process.send!({ type: 'churning' });
    }
    else if (message.type === 'stop-churn') {
        churning = false;
        await Promise.all(churnLoops);
        process.send!({ type: 'churn-stopped', churn: churnStats });
    }
    else if (message.type === 'behind') {
        const behind = stays.filter((stay) => stay.closed === undefined && stay.last < (message.expected[stay.spec.workspaceId] ?? 0)).length;
        process.send!({ type: 'behind', behind });
    }
    else if (message.type === 'report') {
        process.send!({ type: 'report', report: report(message.expected) });
    }
    else {
        await Promise.all(stays.map((stay) => new Promise<void>((resolve) => {
            if (stay.ws.readyState === WebSocket.CLOSED) {
                resolve();
                return;
            }

            stay.ws.once('close', () => resolve());
            stay.ws.close();
        })));
        process.send!({ type: 'closed' });
        process.disconnect();
    }
}

process.on('message', (message: Message) => {
    handle(message).catch((err: Error) => {
        process.stderr.write(`soak clients: ${err.stack}\n`);
        process.exit(1);
    });
});
