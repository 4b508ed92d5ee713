export { createServer, type ServerOptions } from './server.js';
export type { AuthUser } from './context.js';
