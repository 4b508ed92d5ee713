export * from './config.js';
export * from './duration.js';
export * from './logger.js';
export * from './db/connect.js';
export * from './db/migrate.js';
export * from './models/index.js';
export * from './jobs/index.js';
export * from './bus/index.js';
