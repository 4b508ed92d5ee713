import Joi from 'joi';

import { id, timestamp } from './common.js';

export const email = Joi.string().trim().lowercase().email({ tlds: false }).max(254);
export const password = Joi.string().min(8).max(128);

/** A user as `me` and register show it. */
export const me = Joi.object({
    id: id.required(),
    email: Joi.string().required(),
    name: Joi.string().allow('').required(),
    is_admin: Joi.boolean().required(),
    created_at: timestamp.required()
}).label('User');

/** Another user, as member lists show them. */
export const publicUser = Joi.object({
    id: id.required(),
    email: Joi.string().required(),
    name: Joi.string().allow('').required()
}).label('PublicUser');

export const tokenPair = Joi.object({
    access: Joi.string().required().description('Access token (Bearer)'),
    refresh: Joi.string().required().description('Refresh token')
}).label('TokenPair');
