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

const framed = new WeakMap<Uint8Array, Buffer>();

/**
 * A binary message as one whole WebSocket frame, as a server sends it (FIN,
 * opcode 2, unmasked), built once per message: a broadcast writes the same
 * frame on every socket (see `Connection.writeFrame`).
 */
export function framedBinary(message: Uint8Array): Buffer {
    let frame = framed.get(message);
    if (!frame) {
        const length = message.byteLength;
        const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
        frame = Buffer.allocUnsafe(header + length);
        frame[0] = 0x82;
        if (header === 2) {
            frame[1] = length;
        }
        else if (header === 4) {
            frame[1] = 126;
            frame.writeUInt16BE(length, 2);
        }
        else {
            frame[1] = 127;
            frame.writeBigUInt64BE(BigInt(length), 2);
        }

        frame.set(message, header);
        framed.set(message, frame);
    }

    return frame;
}
