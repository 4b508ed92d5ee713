import Boom from '@hapi/boom';
import type { Request } from '@hapi/hapi';
import { CloseCode } from '@collab/protocol';

import { nesConnection } from './nes.js';

/**
 * Applies the socket's message rate limit to a nes request (HTTP requests
 * have none): 429 over it, and the socket closed (1008) when the client
 * keeps going.
 */
export function limitRequest(request: Request): void {
    const connection = nesConnection(request.socket);
    const verdict = connection?.limiter.check() ?? 'ok';
    if (verdict === 'ok') {
        return;
    }

    if (verdict === 'close') {
        connection!.close(CloseCode.policy, 'rate limit exceeded');
    }

    throw Boom.tooManyRequests('Rate limit exceeded: slow down');
}
