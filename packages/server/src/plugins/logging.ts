import { redactUrl } from '@collab/core';
import type { Plugin, Request } from '@hapi/hapi';
import HapiPino from 'hapi-pino';

/** Request logging through pino with credentials redacted, `?token=` in URLs included. */
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
                // hapi-pino's default wrapping builds pino's full request and response objects (every header) first.
                wrapSerializers: false,
                serializers: {
                    req: (req: { method: string; url: string; remoteAddress?: string }) => ({
                        method: req.method,
                        url: redactUrl(req.url),
                        remoteAddress: req.remoteAddress
                    }),
                    res: (res: { statusCode: number }) => ({ statusCode: res.statusCode })
                },
                getChildBindings: (request: Request) => ({ req: { method: request.method, url: request.raw.req.url ?? '', remoteAddress: request.info.remoteAddress } })
            }
        });
    }
};
