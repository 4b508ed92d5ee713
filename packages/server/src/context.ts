import type { Config, DocChannels, EventBus, Logger, Presence, RedisClient } from '@collab/core';
import type { Knex } from 'knex';
import type { Registry } from 'prom-client';

import type { ClientAddresses } from './client-address.js';

/** The authenticated caller, as every route sees it in `request.auth.credentials.user`. */
export interface AuthUser {
    id: number;
    email: string;
}

declare module '@hapi/hapi' {
    interface ServerApplicationState {
        config: Config;
        db: Knex;
        /** Commands (counters, sequences, presence, rate limits). */
        redis: RedisClient;
        logger: Logger;
        /** Unique per server process. */
        instanceId: string;
        /** Who is behind a request or upgrade (the peer, or `X-Forwarded-For` from a trusted proxy), for per-IP limits. */
        clientAddresses: ClientAddresses;
        /** This server's Prometheus registry (set by the metrics plugin); other plugins add their gauges to it. */
        metrics: Registry;
        /** The workspace event bus (set by the bus plugin): sequence, history and fan-out across instances. */
        bus: EventBus;
        /** Who is connected to which workspace, across instances (set by the bus plugin). */
        presence: Presence;
        /** Binary pub/sub of collaborative documents across instances (set by the bus plugin). */
        docChannels: DocChannels;
    }

    interface UserCredentials extends AuthUser {}
}
