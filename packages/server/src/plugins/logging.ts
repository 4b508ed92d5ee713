import { redactUrl } from '@collab/core';
import type { Plugin, Request } from '@hapi/hapi';
import HapiPino from 'hapi-pino';

declare module '@hapi/hapi' {
    interface RequestApplicationState {
        /** This request's id: a sane incoming `X-Request-Id`, else hapi's own. */
        requestId?: string;
    }
}

const SANE_ID = /^[\w.:-]{1,128}$/;

/** The request's id, chosen once: a client's or proxy's `X-Request-Id` when it is short and plain, else hapi's. */
export function requestId(request: Request): string {
    let id = request.app.requestId;
    if (id === undefined) {
        const incoming: unknown = request.headers['x-request-id'];
        id = typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : request.info.id;
        request.app.requestId = id;
    }

    return id;
}

/**
 * Request logging through pino with credentials redacted, `?token=` in URLs
 * included. Every response carries `X-Request-Id`, and every log line of the
 * request names it (`req.id`), so a user's error report finds its log lines.
 */
export const loggingPlugin: Plugin<void> = {
    name: 'collab-logging',
    version: '1.0.0',
    register: async (server) => {
        await server.register({
            plugin: HapiPino,
            options: {
                instance: server.app.logger,
                logPayload: false,
                logQueryParams: false,
                logRequestStart: false,
                ignorePaths: ['/healthz', '/readyz', '/metrics'],     // probes and scrapes would drown the request log
                // Internal routes are the server's own requests (a line per nes socket's authentication).
                ignoreFunc: (_options: unknown, request: Request) => request.route.settings.isInternal === true,
                // hapi-pino's default wrapping builds pino's full request and response objects (every header) first.
                wrapSerializers: false,
                serializers: {
                    req: (req: { id?: string; method: string; url: string; remoteAddress?: string }) => ({
                        id: req.id,
                        method: req.method,
                        url: redactUrl(req.url),
                        remoteAddress: req.remoteAddress
                    }),
                    res: (res: { statusCode: number }) => ({ statusCode: res.statusCode })
                },
                getChildBindings: (request: Request) => ({ req: { id: requestId(request), method: request.method, url: request.raw.req.url ?? '', remoteAddress: request.info.remoteAddress } })
            }
        });

        server.ext('onPreResponse', (request, h) => {
            const response = request.response;
            const id = requestId(request);
            if ('isBoom' in response && response.isBoom) {
                response.output.headers['x-request-id'] = id;
            }
            else {
                (response as { header(name: string, value: string): unknown }).header('x-request-id', id);
            }

            return h.continue;
        });
    }
};
