import type { Request } from '@hapi/hapi';

import { nesConnection } from './nes.js';

/**
 * Applies the socket's message rate limit to a nes request (HTTP requests
 * have none): 429 over it, and the socket closed (1008) when the client
 * keeps going.
 */
export function limitRequest(request: Request): void {
    nesConnection(request.socket)?.countMessage();
}
