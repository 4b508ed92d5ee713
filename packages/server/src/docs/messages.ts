import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { DocMessage, DocSyncStep, MAX_PAYLOAD_BYTES } from '@collab/protocol';

/** Who made an edit, as the file row and the `file_change` event name them. */
export interface Editor {
    id: number;
    email: string;
}

/** A message a client sent that is not valid y-websocket (truncated, malformed, unknown type). */
export class MalformedMessage extends Error {}

/** A y-websocket message from a client, decoded. */
export type ClientMessage =
    | { type: 'step1'; stateVector: Uint8Array }
    | { type: 'update'; update: Uint8Array }
    | { type: 'awareness'; entries: AwarenessEntry[] }
    | { type: 'queryAwareness' }
    | { type: 'auth' };

/** One client's entry in an awareness update: its clock and its JSON state (`removed` when the state is null). */
export interface AwarenessEntry {
    client: number;
    clock: number;
    state: string;
    removed: boolean;
}

/** Awareness entries one message may carry (providers echo every state they learn, so a message can name every editor). */
const MAX_AWARENESS_ENTRIES = 1024;

/** Decodes a client's message; throws {@link MalformedMessage}. The bytes must be the message's own (not a view into a larger buffer). */
export function decodeClientMessage(data: Uint8Array): ClientMessage {
    try {
        const decoder = decoding.createDecoder(data);
        const type = decoding.readVarUint(decoder);
        let message: ClientMessage;
        if (type === DocMessage.sync) {
            const step = decoding.readVarUint(decoder);
            const payload = decoding.readVarUint8Array(decoder);
            if (step === DocSyncStep.step1) {
                message = { type: 'step1', stateVector: payload };
            }
            else if (step === DocSyncStep.step2 || step === DocSyncStep.update) {
                message = { type: 'update', update: payload };
            }
            else {
                throw new MalformedMessage(`unknown sync step ${step}`);
            }
        }
        else if (type === DocMessage.awareness) {
            message = { type: 'awareness', entries: decodeAwareness(decoding.readVarUint8Array(decoder), MAX_AWARENESS_ENTRIES) };
        }
        else if (type === DocMessage.queryAwareness) {
            message = { type: 'queryAwareness' };
        }
        else if (type === DocMessage.auth) {
            decoding.readVarUint(decoder);
            message = { type: 'auth' };
        }
        else {
            throw new MalformedMessage(`unknown message type ${type}`);
        }

        return message;
    }
    catch (err) {
        throw err instanceof MalformedMessage ? err : new MalformedMessage(`malformed message: ${(err as Error).message}`);
    }
}

/** The entries of an awareness update (count, then per client its id, clock and JSON state); throws {@link MalformedMessage}. */
export function decodeAwareness(update: Uint8Array, maxEntries = Infinity): AwarenessEntry[] {
    try {
        const decoder = decoding.createDecoder(update);
        const count = decoding.readVarUint(decoder);
        if (count > maxEntries) {
            throw new MalformedMessage(`an awareness update carries at most ${maxEntries} clients`);
        }

        const entries: AwarenessEntry[] = [];
        for (let i = 0; i < count; i++) {
            const client = decoding.readVarUint(decoder);
            const clock = decoding.readVarUint(decoder);
            const state = decoding.readVarString(decoder);
            if (state.length > MAX_PAYLOAD_BYTES) {
                throw new MalformedMessage(`an awareness state is at most ${MAX_PAYLOAD_BYTES} bytes`);
            }

            entries.push({ client, clock, state, removed: JSON.parse(state) === null });
        }

        return entries;
    }
    catch (err) {
        throw err instanceof MalformedMessage ? err : new MalformedMessage(`malformed awareness update: ${(err as Error).message}`);
    }
}

/** An awareness update of the given entries, as {@link decodeAwareness} read them. */
export function encodeAwareness(entries: AwarenessEntry[]): Uint8Array {
    return encode((encoder) => {
        encoding.writeVarUint(encoder, entries.length);
        for (const { client, clock, state } of entries) {
            encoding.writeVarUint(encoder, client);
            encoding.writeVarUint(encoder, clock);
            encoding.writeVarString(encoder, state);
        }
    });
}

function encode(write: (encoder: encoding.Encoder) => void): Uint8Array {
    const encoder = encoding.createEncoder();
    write(encoder);
    return encoding.toUint8Array(encoder);
}

/**
 * A message ending with `payload` (as lib0's writeVarUint8Array writes it), in one buffer of its
 * exact size: an encoder would copy a large payload twice, growing, then joining its chunks.
 */
function framed(writeHead: (encoder: encoding.Encoder) => void, payload: Uint8Array): Uint8Array {
    const head = encode((encoder) => {
        writeHead(encoder);
        encoding.writeVarUint(encoder, payload.byteLength);
    });
    const message = new Uint8Array(head.byteLength + payload.byteLength);
    message.set(head);
    message.set(payload, head.byteLength);
    return message;
}

/** A sync message (`step` 0, 1 or 2) carrying a state vector or an update. */
export function syncMessage(step: number, payload: Uint8Array): Uint8Array {
    return framed((encoder) => {
        encoding.writeVarUint(encoder, DocMessage.sync);
        encoding.writeVarUint(encoder, step);
    }, payload);
}

/** An awareness message. */
export function awarenessMessage(update: Uint8Array): Uint8Array {
    return framed((encoder) => encoding.writeVarUint(encoder, DocMessage.awareness), update);
}

/** The y-protocols auth "permission denied" message with its reason. */
export function deniedMessage(reason: string): Uint8Array {
    return encode((encoder) => {
        encoding.writeVarUint(encoder, DocMessage.auth);
        encoding.writeVarUint(encoder, 0);
        encoding.writeVarString(encoder, reason);
    });
}

/** A message between instances about one document. */
export type RelayMessage =
    | { type: 'update'; from: string; editor: Editor | null; update: Uint8Array }
    | { type: 'awareness'; from: string; update: Uint8Array }
    /** "Send me what I lack" (state vector); with `ask`, receivers send their own query back. */
    | { type: 'query'; from: string; stateVector: Uint8Array; ask: boolean }
    /** The file was deleted: drop the document without writing anything. */
    | { type: 'deleted'; from: string };

const RELAY_KINDS = ['update', 'awareness', 'query', 'deleted'] as const;

/** Encodes a message for the document's channel. An update's message ends with the update's bytes (see {@link relayedUpdate}). */
export function encodeRelay(message: RelayMessage): Uint8Array {
    const head = (encoder: encoding.Encoder) => {
        encoding.writeVarUint(encoder, RELAY_KINDS.indexOf(message.type));
        encoding.writeVarString(encoder, message.from);
    };
    if (message.type === 'update') {
        return framed((encoder) => {
            head(encoder);
            encoding.writeVarUint(encoder, message.editor?.id ?? 0);
            encoding.writeVarString(encoder, message.editor?.email ?? '');
        }, message.update);
    }

    if (message.type === 'awareness') {
        return framed(head, message.update);
    }

    return encode((encoder) => {
        head(encoder);
        if (message.type === 'query') {
            encoding.writeVarUint8Array(encoder, message.stateVector);
            encoding.writeVarUint(encoder, message.ask ? 1 : 0);
        }
    });
}

/** The update an update's relay message carries, as a view into the message (no copy): `update` is what it was encoded from. */
export function relayedUpdate(message: Uint8Array, update: Uint8Array): Uint8Array {
    return message.subarray(message.byteLength - update.byteLength);
}

/** Decodes a message from the document's channel; throws on garbage. */
export function decodeRelay(data: Uint8Array): RelayMessage {
    const decoder = decoding.createDecoder(data);
    const type = RELAY_KINDS[decoding.readVarUint(decoder)];
    const from = decoding.readVarString(decoder);
    if (type === 'update') {
        const id = decoding.readVarUint(decoder);
        const email = decoding.readVarString(decoder);
        return { type, from, editor: id ? { id, email } : null, update: decoding.readVarUint8Array(decoder) };
    }

    if (type === 'awareness') {
        return { type, from, update: decoding.readVarUint8Array(decoder) };
    }

    if (type === 'query') {
        return { type, from, stateVector: decoding.readVarUint8Array(decoder), ask: decoding.readVarUint(decoder) === 1 };
    }

    if (type === 'deleted') {
        return { type, from };
    }

    throw new Error('unknown relay message');
}
