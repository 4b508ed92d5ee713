export { createServer, type ServerOptions } from './server.js';
export { installShutdown, type ShutdownOptions } from './shutdown.js';
export type { AuthUser } from './context.js';
export { GLIBC_TUNABLES } from './malloc.js';
