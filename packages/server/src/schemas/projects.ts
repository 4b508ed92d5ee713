import Joi from 'joi';
import { ROLES } from '@collab/protocol';

import { id, timestamp } from './common.js';

/** A role in a project. */
export const role = Joi.string().valid(...ROLES);

/** Name of a project or workspace. */
export const name = Joi.string().trim().min(1).max(200);

/** Free-text description of a project or workspace. */
export const description = Joi.string().trim().max(10000).allow('');

/** `{id}` of a project in a path. */
export const projectParams = Joi.object({ id: id.required() });

/** A project as the API shows it. */
export const project = Joi.object({
    id: id.required(),
    name: Joi.string().required(),
    description: Joi.string().allow('').required(),
    created_at: timestamp.required(),
    updated_at: timestamp.required(),
    owner: id.allow(null).required().description('User id of the creator (null once that user is deleted)'),
    role: role.required().description('The caller\'s role')
}).label('Project');

/** A page of projects. */
export const projectList = Joi.array().items(project).label('ProjectList');

/** POST body. */
export const createProject = Joi.object({ name: name.required(), description }).label('ProjectCreate');

/** PUT body: `name` required; an omitted `description` is left unchanged. */
export const replaceProject = Joi.object({ name: name.required(), description }).label('ProjectReplace');

/** PATCH body: at least one field. */
export const updateProject = Joi.object({ name, description }).min(1).label('ProjectUpdate');
