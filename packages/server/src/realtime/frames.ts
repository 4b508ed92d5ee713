/**
 * The start of a nes `pub` frame for a subscription path: the bus's `json`
 * and a closing brace complete it, byte for byte what nes's
 * `socket.publish(path, message)` would send (`{type, path, message}`),
 * without parsing or stringifying the event again.
 */
export function pubPrefix(path: string): string {
    return `{"type":"pub","path":${JSON.stringify(path)},"message":`;
}

/** A server message with the envelope's outer shape but no `seq` or user: `error`, `resync`, `role`, `authenticated`, `revoked`. */
export interface ServerMessage {
    event: string;
    payload: Record<string, unknown>;
    workspace?: number;
    ts: string;
}

/** Builds a {@link ServerMessage}. */
export function serverMessage(event: string, payload: Record<string, unknown>, workspace?: number): ServerMessage {
    return workspace === undefined
        ? { event, payload, ts: new Date().toISOString() }
        : { event, payload, workspace, ts: new Date().toISOString() };
}

/** `{"event":"error","payload":{"code","message"}}` with an HTTP-like code. */
export function errorMessage(code: number, message: string, workspace?: number): ServerMessage {
    return serverMessage('error', { code, message }, workspace);
}
