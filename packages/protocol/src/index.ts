export * from './close-codes.js';
export * from './errors.js';
export * from './events.js';
export * from './jobs.js';
export * from './limits.js';
export * from './roles.js';
export * from './docs.js';
export * from './files.js';
