import type { Plugin } from '@hapi/hapi';

import { authRoutes } from './auth.js';

/** Every HTTP route of the API. */
export const routesPlugin: Plugin<void> = {
    name: 'collab-routes',
    version: '1.0.0',
    register: (server) => {
        server.route([...authRoutes]);
    }
};
