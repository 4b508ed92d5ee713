export { EpochMismatchError, BusValidationError } from './errors.js';
export { EventBus } from './event-bus.js';
export type { EventBusOptions, HistoryOptions, History, Unsubscribe } from './types.js';
export type { ControlMessage, ControlListener } from './control.js';
export { REPLAY_PAGE_SIZE, ReplayStoppedError, type ReplayControl, type ReplayOptions, type ReplaySubscription } from './replay.js';
export type { PublishInput } from './serialize.js';
export type { EventListener } from './topic.js';
export { Presence, type PresenceOptions, type PresenceUser, type PresenceEntry } from './presence.js';
