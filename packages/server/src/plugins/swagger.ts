import { createRequire } from 'node:module';

import Inert from '@hapi/inert';
import Vision from '@hapi/vision';
import type { Plugin } from '@hapi/hapi';

import { loadHapiSwagger } from './swagger-joi.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Tag of the documentation routes (`/swagger*`): not rate limited. */
export const DOCS_TAG = 'docs';

/**
 * Swagger UI at `/swagger/` (with a Bearer "Authorize" button) and the
 * OpenAPI 2 spec at `/swagger.json`, both public. Routes tagged `api` are
 * documented, grouped by their other tags. The UI's assets are served from
 * the installed swagger-ui-dist under `/swaggerui/`: nothing is loaded from
 * the internet (the online validator is off).
 *
 * The router strips trailing slashes, so hapi-swagger's page lives at
 * `/swagger` for the router; an `onRequest` step redirects a request for
 * exactly `/swagger` to `/swagger/`, the documented address.
 */
export const swaggerPlugin: Plugin<void> = {
    name: 'collab-swagger',
    version: '1.0.0',
    register: async (server) => {
        const HapiSwagger = await loadHapiSwagger();
        await server.register([
            Inert,
            Vision,
            {
                plugin: HapiSwagger,
                options: {
                    info: {
                        title: 'collab API',
                        version,
                        description: 'Real-time collaborative workspaces: auth, projects, workspaces, files, events and jobs. Click "Authorize" and enter `Bearer <access token>` from POST /api/auth/login/.'
                    },
                    documentationPath: '/swagger',
                    jsonPath: '/swagger.json',
                    documentationRouteTags: [DOCS_TAG],
                    grouping: 'tags',
                    sortTags: 'alpha',
                    validatorUrl: null,
                    securityDefinitions: {
                        Bearer: { type: 'apiKey', name: 'Authorization', in: 'header', description: 'Bearer <access token>' }
                    },
                    security: [{ Bearer: [] }],
                    uiOptions: { persistAuthorization: false }
                }
            }
        ]);

        server.ext('onRequest', (request, h) => {
            const url = request.raw.req.url ?? '';
            if (url === '/swagger' || url.startsWith('/swagger?')) {
                return h.redirect(`/swagger/${url.slice('/swagger'.length)}`).takeover();
            }

            return h.continue;
        });
    }
};
