import Joi from 'joi';
import { EVENT_NAME_PATTERN, MAX_PAYLOAD_BYTES } from '@collab/protocol';

import { errorBody, id, pageQuery, timestamp } from './common.js';

const eventName = Joi.string().pattern(EVENT_NAME_PATTERN).description(`Event name matching ${EVENT_NAME_PATTERN}`);

/** POST body: an event to broadcast. */
export const sendBody = Joi.object({
    event: eventName.required(),
    payload: Joi.any().required().description(`Any JSON value, at most ${MAX_PAYLOAD_BYTES} bytes serialized (413 above); a file_change with {file, content} also writes the file`)
}).label('EventSend');

/** POST result: the event's place in the workspace's sequence. */
export const sendResult = Joi.object({
    seq: Joi.number().integer().min(1).required().description('Sequence number of the event in its workspace')
}).label('EventSent');

/** The one event envelope every transport delivers (DESIGN §5). */
export const envelope = Joi.object({
    event: Joi.string().required(),
    payload: Joi.any().required(),
    user: Joi.string().allow('').required().description('Email of the sender'),
    user_id: id.required(),
    workspace: id.required(),
    seq: Joi.number().integer().min(1).description('Increases by one per workspace; absent on presence events'),
    epoch: Joi.string().description('Names the life of the workspace\'s sequence; a new epoch means events were lost'),
    ts: timestamp.required()
}).label('EventEnvelope');

/** A page of retained events, oldest first. */
export const history = Joi.array().items(envelope).label('EventHistory');

/** GET query of the history. */
export const historyQuery = Joi.object({
    after: Joi.number().integer().min(0).max(Number.MAX_SAFE_INTEGER).default(0).description('Only events with a greater seq'),
    epoch: Joi.string().max(64).description('The epoch `after` belongs to: 409 {epoch} when it is no longer current'),
    ...pageQuery
});

/** 409 body of a stale epoch. */
export const epochConflict = errorBody.keys({ epoch: Joi.string().required().description('The current epoch') }).label('EpochConflict');

/** A user connected to a workspace. */
export const presenceEntry = Joi.object({
    user_id: id.required(),
    user: Joi.string().allow('').required().description('Email'),
    connections: Joi.number().integer().min(1).required().description('Open subscriptions across every live instance'),
    since: timestamp.required().description('When the user\'s first current connection opened')
}).label('PresenceEntry');

/** Who is connected, earliest first. */
export const presenceList = Joi.array().items(presenceEntry).label('PresenceList');
