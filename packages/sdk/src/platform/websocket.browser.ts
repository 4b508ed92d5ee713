import type { WebSocketConstructor } from '../realtime/nes.js';

/** The WebSocket class in a browser: the platform's. */
export function platformWebSocket(): Promise<WebSocketConstructor | undefined> {
    return Promise.resolve((globalThis as { WebSocket?: WebSocketConstructor }).WebSocket);
}
