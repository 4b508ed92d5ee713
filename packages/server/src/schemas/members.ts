import Joi from 'joi';

import { id, timestamp } from './common.js';
import { role } from './projects.js';
import { email, publicUser } from './users.js';

/** `{id, user_id}` of a membership in a path. */
export const memberParams = Joi.object({ id: id.required(), user_id: id.required() });

/** A member of a project. */
export const member = Joi.object({
    user: publicUser.required(),
    role: role.required(),
    added_at: timestamp.required()
}).label('Member');

/** A page of members. */
export const memberList = Joi.array().items(member).label('MemberList');

/** POST body: exactly one of `email` and `user_id`. */
export const addMember = Joi.object({ email, user_id: id, role: role.required() })
    .xor('email', 'user_id')
    .messages({ 'object.missing': 'email or user_id is required', 'object.xor': 'give either email or user_id, not both' })
    .label('MemberAdd');

/** PATCH body. */
export const changeRole = Joi.object({ role: role.required() }).label('MemberRole');
