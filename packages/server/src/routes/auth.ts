import Boom from '@hapi/boom';
import type { ServerRoute } from '@hapi/hapi';
import { User } from '@collab/core';
import Joi from 'joi';
import { UniqueViolationError } from 'objection';

import { hashPassword, verifyDecoy, verifyPassword } from '../auth/passwords.js';
import { endSession, rotate, startSession } from '../auth/sessions.js';
import { caller } from '../plugins/auth.js';
import { errors } from '../schemas/common.js';
import { email, me, password, tokenPair } from '../schemas/users.js';

const BAD_LOGIN = 'Invalid email or password';
const tags = ['api', 'auth'];

/** Routes of `/api/auth/`. */
export const authRoutes: ServerRoute[] = [
    {
        method: 'POST',
        path: '/api/auth/register',
        options: {
            auth: false,
            tags,
            description: 'Create an account',
            plugins: { collab: { rateLimit: 'auth' }, 'hapi-swagger': { responses: errors(400, 409, 429) } },
            validate: { payload: Joi.object({ email: email.required(), password: password.required(), name: Joi.string().trim().max(150).allow('') }).label('Register') },
            response: { status: { 201: me } },
            handler: async (request, h) => {
                const { email: address, password: secret, name } = request.payload as { email: string; password: string; name?: string };
                const password_hash = await hashPassword(secret);
                try {
                    const user = await User.query(request.server.app.db).insert({ email: address, password_hash, name: name ?? '' }).returning('*');
                    return h.response(user.toMe()).code(201);
                }
                catch (err) {
                    throw err instanceof UniqueViolationError ? Boom.conflict('A user with this email already exists') : err;
                }
            }
        }
    },
    {
        method: 'POST',
        path: '/api/auth/login',
        options: {
            auth: false,
            tags,
            description: 'Exchange email and password for an access and a refresh token',
            plugins: { collab: { rateLimit: 'auth' }, 'hapi-swagger': { responses: errors(400, 401, 429) } },
            validate: { payload: Joi.object({ email: Joi.string().trim().lowercase().max(254).required(), password: Joi.string().max(1024).required() }).label('Login') },
            response: { status: { 200: tokenPair } },
            handler: async (request) => {
                const { email: address, password: secret } = request.payload as { email: string; password: string };
                const user = await User.query(request.server.app.db).findOne({ email: address });
                const valid = user ? await verifyPassword(secret, user.password_hash) : await verifyDecoy(secret);
                if (!user || !valid || !user.is_active) {
                    throw Boom.unauthorized(BAD_LOGIN);
                }

                await User.query(request.server.app.db).patch({ last_login_at: new Date().toISOString() }).findById(user.id);
                return startSession(request.server, user);
            }
        }
    },
    {
        method: 'POST',
        path: '/api/auth/refresh',
        options: {
            auth: false,
            tags,
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 429) } },
            description: 'Rotate a refresh token: returns a new pair; the presented token dies, and presenting it again revokes its family',
            validate: { payload: Joi.object({ refresh: Joi.string().max(4096).required() }).label('Refresh') },
            response: { status: { 200: tokenPair } },
            handler: (request) => rotate(request.server, (request.payload as { refresh: string }).refresh)
        }
    },
    {
        method: 'POST',
        path: '/api/auth/logout',
        options: {
            auth: false,
            tags,
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 429) } },
            description: 'Revoke a refresh token and every token rotated from the same login',
            validate: { payload: Joi.object({ refresh: Joi.string().max(4096).required() }).label('Logout') },
            response: { status: { 204: Joi.any().empty() } },
            handler: async (request, h) => {
                await endSession(request.server, (request.payload as { refresh: string }).refresh);
                return h.response().code(204);
            }
        }
    },
    {
        method: 'GET',
        path: '/api/auth/me',
        options: {
            tags,
            plugins: { 'hapi-swagger': { responses: errors(401, 429) } },
            description: 'The signed-in user',
            response: { status: { 200: me } },
            handler: async (request) => {
                const user = await User.query(request.server.app.db).findById(caller(request).id);
                if (!user) {
                    throw Boom.unauthorized('Unknown user');
                }

                return user.toMe();
            }
        }
    }
];
