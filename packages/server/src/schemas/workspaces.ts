import Joi from 'joi';

import { id, timestamp } from './common.js';
import { description, name } from './projects.js';

/** `{id}` of a workspace in a path. */
export const workspaceParams = Joi.object({ id: id.required() });

/** A workspace as the API shows it. */
export const workspace = Joi.object({
    id: id.required(),
    project: id.required().description('Id of its project'),
    name: Joi.string().required(),
    description: Joi.string().allow('').required(),
    created_at: timestamp.required(),
    updated_at: timestamp.required()
}).label('Workspace');

/** A page of workspaces. */
export const workspaceList = Joi.array().items(workspace).label('WorkspaceList');

/** POST body. */
export const createWorkspace = Joi.object({ name: name.required(), description }).label('WorkspaceCreate');

/** PATCH body: at least one field. */
export const updateWorkspace = Joi.object({ name, description }).min(1).label('WorkspaceUpdate');
