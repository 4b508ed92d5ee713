import type { Plugin } from '@hapi/hapi';
import Joi from 'joi';
import { Gauge, type Registry } from 'prom-client';

import { docFiles } from './files.js';
import { DOC_SETTINGS, DocRegistry, type DocSettings } from './registry.js';
import { DocStore } from './store.js';
import type { Editor } from './messages.js';

/** What the `collab-docs` plugin exposes as `server.plugins['collab-docs']`. */
export interface DocsApi {
    registry: DocRegistry;
    /** Applies a REST write of a file to its document, if it has one (never throws: the write already happened). */
    fileWritten(workspaceId: number, path: string, content: string, editor: Editor): Promise<void>;
    /** Deletes a file and its document (DELETE of a file); false when there was no file. Throws 400 for a bad path. */
    deleteFile(workspaceId: number, path: string): Promise<boolean>;
}

declare module '@hapi/hapi' {
    interface PluginProperties {
        'collab-docs': DocsApi;
    }
}

/** Options of the `collab-docs` plugin: timings over {@link DOC_SETTINGS}. */
export interface DocsPluginOptions {
    settings?: Partial<DocSettings>;
}

const optionsSchema = Joi.object({ settings: Joi.object().pattern(Joi.string().valid(...Object.keys(DOC_SETTINGS)), Joi.number().integer().min(1)) });

/**
 * Collaborative documents without their transport (DESIGN §7): the registry
 * of loaded documents, their storage, their channels across instances and
 * their file rows. The `/yjs/` endpoint of `collab-realtime` serves them.
 * Reports `docs_loaded`, `docs_asleep` and `docs_state_bytes` (the memory of loaded
 * documents, as encoded state) in `/metrics`. On stop, after the sockets
 * closed, every document writes its file and stores what waits.
 */
export const docsPlugin: Plugin<DocsPluginOptions> = {
    name: 'collab-docs',
    version: '1.0.0',
    dependencies: ['collab-bus'],
    register: (server, options) => {
        Joi.assert(options, optionsSchema, 'collab-docs options');
        const { logger } = server.app;
        const store = new DocStore(server.app.db);
        const registry = new DocRegistry({
            store,
            channels: server.app.docChannels,
            files: docFiles(server, store),
            instanceId: server.app.instanceId,
            settings: { ...DOC_SETTINGS, ...options.settings },
            onError: (err) => logger.warn({ err: err.message }, 'document error')
        });

        const metrics = server.app.metrics as Registry | undefined;
        if (metrics) {
            new Gauge({ name: 'docs_loaded', help: 'Collaborative documents held in memory on this instance', registers: [metrics], collect() {
                this.set(registry.stats().loaded);
            } });
            new Gauge({ name: 'docs_asleep', help: 'Loaded documents asleep: nobody edited them for a while, only their encoded state is in memory', registers: [metrics], collect() {
                this.set(registry.stats().asleep);
            } });
            new Gauge({ name: 'docs_state_bytes', help: 'Bytes of the loaded documents\' Yjs state, encoded (their memory, roughly)', registers: [metrics], collect() {
                this.set(registry.stats().bytes);
            } });
        }

        const api: DocsApi = {
            registry,
            fileWritten: async (workspaceId, path, content, editor) => {
                try {
                    await registry.fileWritten({ workspaceId, path }, content, editor);
                }
                catch (err) {
                    logger.warn({ err: (err as Error).message, workspaceId }, 'file write not applied to its document');
                }
            },
            deleteFile: (workspaceId, path) => registry.deleteFile({ workspaceId, path })
        };
        for (const [key, value] of Object.entries(api)) {
            server.expose(key, value);
        }

        server.ext('onPreStop', () => registry.close(), { after: ['collab-realtime'] });
    }
};
