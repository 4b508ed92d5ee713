import type { Server } from '@hapi/hapi';
import NesClient, { type Client as NesClientClass } from '@hapi/nes/lib/client.js';
import type { Config } from '@collab/core';
import type { EventEnvelope } from '@collab/sdk';
import WebSocket from 'ws';

import { testConfig } from '../helpers/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cleanRedis, startTestServer, type TestServerOptions, type TestUser } from '../helpers/server.js';

/** The nes client class, on `ws` (Node 20 has no global WebSocket). */
export const Client = (NesClient as unknown as { Client: typeof NesClientClass }).Client;
(Client as unknown as { WebSocket: unknown }).WebSocket = WebSocket;
export type NesClientType = InstanceType<typeof Client>;

/** A signed-in user. */
export type User = TestUser;

/** A listening server on its own database and Redis prefix. */
export interface RealtimeServer {
    server: Server;
    config: Config;
    database: TestDatabase;
    port: number;
    http(method: string, url: string, token?: string, payload?: unknown): Promise<{ statusCode: number; result: unknown; headers: Record<string, unknown> }>;
    user(name?: string): Promise<User>;
    stop(): Promise<void>;
}

/** Starts a server on port 0 ({@link startTestServer}) with real-time settings of the test's choosing. */
export async function startServer(options: Omit<TestServerOptions, 'listen' | 'stopTimeoutMs'> = {}): Promise<RealtimeServer> {
    // Sockets a test leaves open are cut after 2 s rather than hapi's default 5 s.
    const base = await startTestServer({ ...options, listen: true, stopTimeoutMs: 2000 });
    const http: RealtimeServer['http'] = async (method, url, token, payload) => {
        const res = await base.call(method, url, { token, payload });
        return { statusCode: res.statusCode, result: res.result, headers: res.headers };
    };

    return { server: base.server, config: base.config, database: base.database, port: base.server.info.port as number, http, user: base.user, stop: base.stop };
}

/** Two instances on one fresh database and one Redis prefix, with a {@link Team} made on the first. */
export interface TwoInstances {
    database: TestDatabase;
    a: RealtimeServer;
    b: RealtimeServer;
    team: Team;
    /** Stops both instances, then removes their Redis keys and the database. */
    stop(): Promise<void>;
}

export async function startTwoInstances(options: Omit<TestServerOptions, 'listen' | 'stopTimeoutMs' | 'config' | 'database'> = {}): Promise<TwoInstances> {
    const database = await createTestDatabase();
    const config = testConfig();
    const [a, b] = await Promise.all([startServer({ ...options, config, database }), startServer({ ...options, config, database })]);
    const team = await makeTeam(a);
    const stop = async () => {
        await Promise.all([a.stop(), b.stop()]);
        await cleanRedis(a.config.redisPrefix);
        await database.drop();
    };
    return { database, a, b, team, stop };
}

/** A project with a workspace and one user of each role, plus an outsider. */
export interface Team {
    projectId: number;
    workspaceId: number;
    owner: User;
    collaborator: User;
    viewer: User;
    outsider: User;
}

/** Creates a {@link Team} through the API of a server (in-process or not). */
export async function makeTeam(t: Pick<RealtimeServer, 'http' | 'user'>): Promise<Team> {
    const [owner, collaborator, viewer, outsider] = await Promise.all([t.user('owner'), t.user('collab'), t.user('viewer'), t.user('outsider')]);
    const project = await t.http('POST', '/api/projects/projects/', owner.access, { name: 'P' });
    const projectId = (project.result as { id: number }).id;
    await t.http('POST', `/api/projects/projects/${projectId}/members/`, owner.access, { user_id: collaborator.id, role: 'collaborator' });
    await t.http('POST', `/api/projects/projects/${projectId}/members/`, owner.access, { user_id: viewer.id, role: 'viewer' });
    const workspace = await t.http('POST', `/api/projects/projects/${projectId}/workspaces/`, owner.access, { name: 'W' });
    return { projectId, workspaceId: (workspace.result as { id: number }).id, owner, collaborator, viewer, outsider };
}

/** A frame a plain socket received: an envelope or a server message. */
export type Frame = EventEnvelope & { payload: Record<string, unknown> };

/** A plain WebSocket client that records frames and its close. */
export interface PlainClient {
    ws: WebSocket;
    frames: Frame[];
    closed: Promise<{ code: number; reason: string }>;
    opened: Promise<void>;
    send(frame: unknown): void;
    /** Waits for the first recorded frame (from `from` on) matching `match`. */
    next(match: (frame: Frame) => boolean, timeoutMs?: number, from?: number): Promise<Frame>;
    events(): Frame[];
    close(): void;
}

/** Opens `ws://127.0.0.1:PORT/ws/workspaces/ID/?token=…` (`query` adds since/epoch). */
export function plainClient(port: number, workspaceId: number | string, token: string | null, options: { query?: string; slash?: boolean; headers?: Record<string, string> } = {}): PlainClient {
    const qs = [token === null ? '' : `token=${encodeURIComponent(token)}`, options.query ?? ''].filter(Boolean).join('&');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/workspaces/${workspaceId}${options.slash === false ? '' : '/'}${qs ? `?${qs}` : ''}`, { headers: options.headers });
    const frames: Frame[] = [];
    const waiters = new Set<() => void>();
    ws.on('message', (data) => {
        frames.push(JSON.parse(data.toString()) as Frame);
        for (const wake of waiters) {
            wake();
        }
    });
    ws.on('error', () => undefined);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    const opened = new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    opened.catch(() => undefined);
    const next: PlainClient['next'] = (match, timeoutMs = 5000, from = 0) => new Promise((resolve, reject) => {
        const check = () => {
            const found = frames.slice(from).find(match);
            if (found) {
                waiters.delete(check);
                clearTimeout(timer);
                resolve(found);
            }
        };
        const timer = setTimeout(() => {
            waiters.delete(check);
            reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames).slice(0, 500)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
    });

    return {
        ws,
        frames,
        closed,
        opened,
        send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
        next,
        events: () => frames.filter((frame) => frame.seq !== undefined),
        close: () => ws.close()
    };
}

/** A connected nes client and how its first disconnection went. */
export interface NesConnection {
    client: NesClientType;
    closed: Promise<{ code: number; reason: string }>;
}

/** Connects a nes client authenticated with an access token (without reconnecting, unless asked). */
export async function nesConnection(port: number, token: string, options: { reconnect?: boolean } = {}): Promise<NesConnection> {
    const client = new Client(`ws://127.0.0.1:${port}`);
    client.onError = () => undefined;
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
        client.onDisconnect = (_willReconnect, log) => resolve({ code: log.code, reason: log.reason });
    });
    await client.connect({ auth: { headers: { authorization: `Bearer ${token}` } }, reconnect: options.reconnect ?? false });
    return { client, closed };
}

/** A connected nes client authenticated with an access token. */
export async function nesClient(port: number, token: string, options: { reconnect?: boolean } = {}): Promise<NesClientType> {
    return (await nesConnection(port, token, options)).client;
}

/** Collects what a nes subscription receives. */
export async function nesSubscribe(client: NesClientType, path: string): Promise<{ messages: Frame[]; flags: Array<{ revoked?: boolean }> }> {
    const messages: Frame[] = [];
    const flags: Array<{ revoked?: boolean }> = [];
    await client.subscribe(path, (message, flag) => {
        messages.push(message as Frame);
        flags.push(flag as { revoked?: boolean });
    });
    return { messages, flags };
}
export { until } from '../helpers/wait.js';

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
