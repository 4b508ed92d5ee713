/**
 * @collab/worker: the BullMQ job worker (`collab-worker`) and the sandboxed program runner.
 *
 * @packageDocumentation
 */
export { startWorker, type WorkerHandle } from './worker.js';
export { startEmbeddedWorker } from './embedded.js';
export type { StartWorkerOptions } from './options.js';
export type { ReconcileReport } from './reconciler.js';
export * from './sandbox/index.js';
