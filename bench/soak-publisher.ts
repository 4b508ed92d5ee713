// The soak benchmark's event source (bench/soak.ts): a steady rate of events over the REST route.
import { performance } from 'node:perf_hooks';

/** What the publisher needs of the server under test: its HTTP API. */
export interface EventRoute {
    http(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes `rate` events/s round-robin over the workspaces through the REST route; counts them per workspace. */
export class Publisher {
    readonly published = new Map<number, number>();
    failed = 0;
    unexpectedSeq = 0;
    private running = true;
    private readonly done: Promise<void>;

    constructor(private readonly rate: number, private readonly server: EventRoute, private readonly token: string, private readonly workspaces: number[]) {
        this.done = this.run();
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.done;
    }

    private async run(): Promise<void> {
        const started = performance.now();
        const inFlight = new Set<Promise<void>>();
        let sent = 0;
        while (this.running) {
            const due = Math.floor(((performance.now() - started) / 1000) * this.rate);
            for (; sent < due; sent++) {
                const workspaceId = this.workspaces[sent % this.workspaces.length]!;
                const work = this.publish(workspaceId, sent).finally(() => inFlight.delete(work));
                inFlight.add(work);
            }

            await sleep(20);
        }

        await Promise.all(inFlight);
    }

    private async publish(workspaceId: number, n: number): Promise<void> {
        try {
            const res = await this.server.http('POST', `/api/projects/workspaces/${workspaceId}/events/`, this.token, { event: 'soak', payload: { n, t: Date.now() } });
            if (res.status !== 202) {
                this.failed++;
                return;
            }

            const count = (this.published.get(workspaceId) ?? 0) + 1;
            this.published.set(workspaceId, count);
            if (res.json.seq !== count) {
                this.unexpectedSeq++;
            }
        }
        catch {
            this.failed++;
        }
    }
}
