import { randomBytes } from 'node:crypto';

import type { RedisClient } from '../redis/client.js';
import type { EventEnvelope } from '@collab/protocol';

import { type busKeys } from './keys.js';
import { readScript } from './scripts.js';
import type { Delivery, StreamRead } from './topic.js';

/** A fresh epoch: short and random, offered to Redis, which keeps it only when the workspace has none. */
export function newEpoch(): string {
    return randomBytes(6).toString('base64url');
}

/** Where a stream read goes and whether it may create the epoch. */
export interface ReadRequest {
    redis: RedisClient;
    keys: ReturnType<typeof busKeys>;
    workspaceId: number;
    after: number;
    /** Create the workspace's epoch when it has none (reads answering clients), or only read. */
    createEpoch: boolean;
    ttlSeconds: number;
    limit?: number;
}

/** Reads retained events after a seq, oldest first, with the epoch and head seq. */
export async function readStream(request: ReadRequest): Promise<StreamRead> {
    const { redis, keys, workspaceId } = request;
    const reply = await readScript.run(
        redis,
        [keys.meta(workspaceId), keys.log(workspaceId)],
        [request.createEpoch ? newEpoch() : '', Math.max(0, Math.floor(request.after)), request.ttlSeconds, request.limit ?? 0]
    ) as [string | null, number, [string, string[]][]];

    const [epoch, seq, entries] = reply;
    const events: Delivery[] = entries.map(([, fields]) => {
        const json = fields[1]!;
        return { envelope: JSON.parse(json) as EventEnvelope, json };
    });

    return { epoch: epoch ?? undefined, seq: Number(seq), events };
}
