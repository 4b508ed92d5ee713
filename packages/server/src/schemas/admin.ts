import Joi from 'joi';
import { JOB_STATUSES } from '@collab/protocol';

import { id, pageQuery, timestamp } from './common.js';

/** A user as administrators see them. */
export const adminUser = Joi.object({
    id: id.required(),
    email: Joi.string().required(),
    name: Joi.string().allow('').required(),
    is_admin: Joi.boolean().required(),
    is_active: Joi.boolean().required(),
    created_at: timestamp.required(),
    last_login_at: timestamp.allow(null).required()
}).label('AdminUser');

export const adminUserList = Joi.array().items(adminUser).label('AdminUserList');

export const userQuery = Joi.object({
    ...pageQuery,
    q: Joi.string().trim().max(254).allow('').description('Case-insensitive substring of the email or name')
});

export const userParams = Joi.object({ id: id.required() });

export const userPatch = Joi.object({
    is_active: Joi.boolean(),
    is_admin: Joi.boolean()
}).min(1).label('AdminUserPatch');

export const stats = Joi.object({
    users: Joi.number().integer().min(0).required(),
    projects: Joi.number().integer().min(0).required(),
    workspaces: Joi.number().integer().min(0).required(),
    sockets: Joi.object().pattern(Joi.string(), Joi.number().integer().min(0)).required()
        .description('Live sockets (both transports) per server instance'),
    jobs: Joi.object(Object.fromEntries(JOB_STATUSES.map((status) => [status, Joi.number().integer().min(0).required()]))).required(),
    workers: Joi.array().items(Joi.object({
        id: Joi.string().required(),
        languages: Joi.array().items(Joi.string()).required(),
        concurrency: Joi.number().integer().min(1).required(),
        running: Joi.number().integer().min(0).required(),
        last_seen: timestamp.required()
    }).label('WorkerStats')).required()
}).label('Stats');

export const retryParams = Joi.object({ job_id: Joi.string().max(80).required() });

export const retried = Joi.object({
    message: Joi.string().required(),
    job_id: Joi.string().required(),
    status: Joi.string().valid('queued').required()
}).label('JobRetried');
