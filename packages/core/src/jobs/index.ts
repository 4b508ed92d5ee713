/**
 * The job contract shared by the API (producer) and the workers: statuses,
 * limits, ids, retry policy, Redis names and the messages on them.
 *
 * @packageDocumentation
 */
export * from './contract.js';
export * from './keys.js';
export * from './workers.js';
