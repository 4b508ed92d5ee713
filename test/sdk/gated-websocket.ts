import type { WebSocketConstructor } from '@collab/sdk';
import WebSocket from 'ws';

/** A `ws` WebSocket class whose connections a test can cut and hold off. */
export interface Gate {
    WebSocket: WebSocketConstructor;
    /** Sockets opened so far. */
    opened(): number;
    /** New connections fail (connection refused) until `open()`. */
    block(): void;
    open(): void;
    /** Terminates every open socket (no close handshake: the client sees 1006). */
    cut(): void;
}

/** A fresh {@link Gate}. */
export function gate(): Gate {
    const sockets: WebSocket[] = [];
    let blocked = false;
    class GatedWebSocket extends WebSocket {
        constructor(url: string, options?: WebSocket.ClientOptions) {
            super(blocked ? 'ws://127.0.0.1:1/' : url, options);
            sockets.push(this);
        }
    }

    return {
        WebSocket: GatedWebSocket,
        opened: () => sockets.length,
        block: () => void (blocked = true),
        open: () => void (blocked = false),
        cut: () => {
            for (const socket of sockets) {
                if (socket.readyState === WebSocket.OPEN) {
                    socket.terminate();
                }
            }
        }
    };
}
