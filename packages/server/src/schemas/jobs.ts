import Joi from 'joi';
import { JOB_LIMITS, JOB_STATUSES } from '@collab/protocol';

import { id, pageQuery, timestamp } from './common.js';

/** A job status. */
export const jobStatus = Joi.string().valid(...JOB_STATUSES);

/** `{job_id}` in a path; an id of the wrong shape is a 404, not a 400 (see the handlers). */
export const jobParams = Joi.object({ job_id: Joi.string().max(100).required().description('A job id, `job_…`') });

/** Body of POST `/api/jobs/submit/`. Sizes of `code` and `stdin` are checked by the handler (413). */
export const submitJob = Joi.object({
    code: Joi.string().required().description(`Source code, at most ${JOB_LIMITS.maxCodeBytes} bytes of UTF-8 (413 beyond)`),
    language: Joi.string().trim().lowercase().max(32).required().description('A language live workers run (GET /api/jobs/languages/)'),
    stdin: Joi.string().allow('').description(`Standard input, at most ${JOB_LIMITS.maxStdinBytes} bytes (413 beyond)`),
    workspace_id: id.allow(null).description('Run it for this workspace (owner or collaborator there): its members see the job and its events'),
    timeout_ms: Joi.number().integer().min(JOB_LIMITS.minTimeoutMs).max(JOB_LIMITS.maxTimeoutMs).default(JOB_LIMITS.defaultTimeoutMs)
        .description('Wall-clock limit in milliseconds'),
    memory_mb: Joi.number().integer().min(JOB_LIMITS.minMemoryMb).max(JOB_LIMITS.maxMemoryMb).default(JOB_LIMITS.defaultMemoryMb)
        .description('Memory limit in MiB')
}).label('JobSubmit');

/** Headers of a submit. */
export const submitHeaders = Joi.object({
    'idempotency-key': Joi.string().min(1).max(255).pattern(/\0/, { invert: true })
        .messages({ 'string.pattern.invert.base': 'idempotency-key must not contain NUL characters' })
        .description('The same key and body within 24 h return the same job (200); the same key with another body is 409')
}).unknown(true);

/** Answer of a submit (202), or of a repeated idempotent submit (200). */
export const submitted = Joi.object({
    message: Joi.string().required(),
    job_id: Joi.string().required(),
    status: jobStatus.required()
}).label('JobSubmitted');

/** A job as the API shows it. */
export const job = Joi.object({
    job_id: Joi.string().required(),
    status: jobStatus.required(),
    language: Joi.string().required(),
    workspace_id: id.allow(null).required(),
    attempts: Joi.number().integer().min(0).required().description('Starts of the program, including ones cut short by a worker\'s death'),
    exit_code: Joi.number().integer().allow(null).required(),
    stdout: Joi.string().allow('').required(),
    stderr: Joi.string().allow('').required(),
    truncated: Joi.boolean().required().description('stdout or stderr was cut at 64 KiB'),
    duration_ms: Joi.number().integer().min(0).allow(null).required(),
    created_at: timestamp.required(),
    started_at: timestamp.allow(null).required(),
    finished_at: timestamp.allow(null).required(),
    error: Joi.string().allow(null, '').required().description('Why the system could not run it (status `error`)')
}).label('Job');

/** A page of jobs. */
export const jobList = Joi.array().items(job).label('JobList');

/** Query of the job list. */
export const jobQuery = Joi.object({
    status: jobStatus.description('Only jobs with this status'),
    workspace_id: id.description('Only jobs of this workspace'),
    ...pageQuery
});

/** Languages live workers run. */
export const languageList = Joi.array().items(Joi.object({
    language: Joi.string().required(),
    version: Joi.string().allow('').required()
}).label('Language')).label('LanguageList');
