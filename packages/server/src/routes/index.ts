import type { Plugin } from '@hapi/hapi';

import { adminRoutes } from './admin.js';
import { authRoutes } from './auth.js';
import { eventRoutes } from './events.js';
import { fileRoutes } from './files.js';
import { jobRoutes } from './jobs.js';
import { memberRoutes } from './members.js';
import { projectRoutes } from './projects.js';
import { workspaceRoutes } from './workspaces.js';

/** Every HTTP route of the API. */
export const routesPlugin: Plugin<void> = {
    name: 'collab-routes',
    version: '1.0.0',
    register: (server) => {
        server.route([...authRoutes, ...projectRoutes, ...memberRoutes, ...workspaceRoutes, ...fileRoutes, ...eventRoutes, ...jobRoutes, ...adminRoutes]);
    }
};
