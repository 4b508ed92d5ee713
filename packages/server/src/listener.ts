import { createServer, type Server } from 'node:http';

/** Connections the kernel queues for the server before it accepts them (Linux caps it at `net.core.somaxconn`). */
export const LISTEN_BACKLOG = 4096;

/**
 * The HTTP listener hapi starts, listening with a long accept queue. Node's
 * default of 511 overflows when thousands of clients come back at once (an
 * instance died and its clients reconnect to the others): the kernel then
 * drops their SYNs, the client or proxy in front retries a second later or
 * gives up (nginx answers 504 after `proxy_connect_timeout`), where queuing
 * them costs nothing.
 */
export function createListener(): Server {
    const listener = createServer();
    const listen = listener.listen.bind(listener);
    // hapi calls listen(port, host, callback) for TCP and listen(path, callback) for a socket file.
    listener.listen = ((port: number | string, host: string | null | (() => void), callback?: () => void) => {
        if (typeof host === 'function') {
            return listen({ path: String(port), backlog: LISTEN_BACKLOG }, host);
        }

        return listen({ port: Number(port), host: host ?? undefined, backlog: LISTEN_BACKLOG }, callback);
    }) as Server['listen'];
    return listener;
}
