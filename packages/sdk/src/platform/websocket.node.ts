import type { WebSocketConstructor } from '../realtime/nes.js';

/** The WebSocket class on Node: the platform's (Node 22+), else the `ws` package, loaded on first use. */
export async function platformWebSocket(): Promise<WebSocketConstructor | undefined> {
    const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    return global ?? (await import('ws')).default as unknown as WebSocketConstructor;
}
