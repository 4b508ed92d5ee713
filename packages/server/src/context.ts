import type { Config, Logger } from '@collab/core';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';

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
        redis: Redis;
        logger: Logger;
        /** Unique per server process. */
        instanceId: string;
    }

    interface UserCredentials extends AuthUser {}
}
