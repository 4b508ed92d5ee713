import { EVENT_NAME_PATTERN, type EventEnvelope, MAX_PAYLOAD_BYTES } from '@collab/protocol';

import { BusValidationError } from './errors.js';

/** What a publisher hands the bus; the bus adds `workspace`, `ts` and, for stored events, `seq` and `epoch`. */
export interface PublishInput {
    /** Event name, matching `EVENT_NAME_PATTERN`. */
    event: string;
    /** Any JSON value; at most `MAX_PAYLOAD_BYTES` once serialized. */
    payload: unknown;
    /** Email of the sender. */
    user: string;
    user_id: number;
}

/**
 * An envelope split around the place `seq` and `epoch` go, so Lua can
 * splice them in without parsing: `head + ',"seq":N,"epoch":"E"' + tail`.
 */
export interface SplitEnvelope {
    head: string;
    tail: string;
    /** The envelope without `seq`/`epoch`, payload as every receiver will see it. */
    envelope: EventEnvelope;
}

/** Validates and serializes a publish; throws `BusValidationError` or, for programmer mistakes, `TypeError`. */
export function splitEnvelope(workspaceId: number, input: PublishInput): SplitEnvelope {
    assertId('workspaceId', workspaceId);
    assertId('user_id', input.user_id);
    if (typeof input.user !== 'string') {
        throw new TypeError('user must be a string');
    }

    if (typeof input.event !== 'string' || !EVENT_NAME_PATTERN.test(input.event)) {
        throw new BusValidationError(400, `event must match ${EVENT_NAME_PATTERN}`);
    }

    const payloadJson = stringifyPayload(input.payload);
    // UTF-8 needs at most 3 bytes per UTF-16 unit: short strings skip the count.
    if (payloadJson.length > MAX_PAYLOAD_BYTES / 3 && Buffer.byteLength(payloadJson) > MAX_PAYLOAD_BYTES) {
        throw new BusValidationError(413, `payload exceeds ${MAX_PAYLOAD_BYTES} bytes`);
    }

    const ts = new Date().toISOString();
    const head = `{"event":${JSON.stringify(input.event)},"payload":${payloadJson},"user":${JSON.stringify(input.user)},"user_id":${input.user_id},"workspace":${workspaceId}`;
    const tail = `,"ts":"${ts}"}`;
    const envelope: EventEnvelope = {
        event: input.event,
        // Parsed back so local listeners see exactly what remote ones do (no Dates, no undefined).
        payload: JSON.parse(payloadJson),
        user: input.user,
        user_id: input.user_id,
        workspace: workspaceId,
        ts
    };

    return { head, tail, envelope };
}

/** Joins a split envelope with its seq and epoch, byte for byte as the publish script does. */
export function joinEnvelope(split: SplitEnvelope, seq: number, epoch: string): { envelope: EventEnvelope; json: string } {
    const { event, payload, user, user_id, workspace, ts } = split.envelope;
    return {
        envelope: { event, payload, user, user_id, workspace, seq, epoch, ts },
        json: `${split.head},"seq":${seq},"epoch":"${epoch}"${split.tail}`
    };
}

function stringifyPayload(payload: unknown): string {
    let json: string | undefined;
    try {
        json = JSON.stringify(payload);
    }
    catch (err) {
        throw new BusValidationError(400, `payload is not JSON: ${(err as Error).message}`);
    }

    if (json === undefined) {
        throw new BusValidationError(400, 'payload is not JSON');
    }

    return json;
}

function assertId(name: string, value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
        throw new TypeError(`${name} must be a non-negative integer`);
    }
}
