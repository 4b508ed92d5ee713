import Joi from 'joi';
import { pathProblem } from '@collab/protocol';

import { id, pageQuery, timestamp } from './common.js';

/** A workspace file path: relative, `/`-separated, no empty, `.` or `..` segments, ≤ 255 bytes. */
export const filePath = Joi.string().allow('').custom((value: string, helpers) => {
    const problem = pathProblem(value);
    return problem ? helpers.message({ custom: `path ${problem}` }) : value;
}).description('Relative, /-separated, no . or .. segments, at most 255 bytes of UTF-8');

/** `limit` and `cursor` of the file list. */
export const fileListQuery = Joi.object(pageQuery);

/** `{id, path*}` of a file in a path. */
export const fileParams = Joi.object({ id: id.required(), path: filePath.required() });

const updatedBy = id.allow(null).required().description('User id of the last writer (null once that user is deleted)');

/** A file in a listing, without its content. */
export const fileSummary = Joi.object({
    path: Joi.string().required(),
    revision: Joi.number().integer().min(1).required(),
    size: Joi.number().integer().min(0).required().description('Bytes of UTF-8'),
    updated_at: timestamp.required(),
    updated_by: updatedBy
}).label('FileSummary');

/** A page of files, ordered by path. */
export const fileList = Joi.array().items(fileSummary).label('FileList');

/** A file with its content. */
export const file = Joi.object({
    path: Joi.string().required(),
    content: Joi.string().allow('').required(),
    revision: Joi.number().integer().min(1).required(),
    updated_at: timestamp.required(),
    updated_by: updatedBy
}).label('File');

/** PUT body. */
export const writeBody = Joi.object({
    content: Joi.string().allow('').required().description('Text, at most 1 MiB of UTF-8 (413 above)'),
    base_revision: Joi.number().integer().min(0).max(2147483647)
        .description('Write only if the file is still at this revision (0: only if it does not exist); 409 otherwise')
}).label('FileWrite');

/** PUT result. */
export const written = Joi.object({
    path: Joi.string().required(),
    revision: Joi.number().integer().min(1).required()
}).label('FileWritten');
