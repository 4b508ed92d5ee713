import Boom from '@hapi/boom';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import { JOB_EVENTS, JOB_ID_PATTERN, JOB_LIMITS, type JobStatus, WRITER_ROLES } from '@collab/protocol';
import { Job, JOB_RESOURCE_COLUMNS } from '@collab/core';

import { requireRole, workspaceAccess } from '../access.js';
import { cancelJob } from '../jobs/cancel.js';
import { insertJob, type SubmitBody } from '../jobs/submit.js';
import { withDatabase } from '../jobs/unavailable.js';
import { decodeCursor, nextPageUrl, type PageQuery } from '../pagination.js';
import { caller } from '../plugins/auth.js';
import { errorBody, errors } from '../schemas/common.js';
import { job, jobList, jobParams, jobQuery, languageList, submitHeaders, submitJob, submitted } from '../schemas/jobs.js';

const tags = ['api', 'jobs'];

// What the API shows of a job, and what a page's cursor needs.
const VIEW_COLUMNS = [...JOB_RESOURCE_COLUMNS, 'seq', 'user_id'];

function tooLarge(field: string, limit: number): Boom.Boom {
    const error = Boom.entityTooLarge(`${field} exceeds ${limit} bytes`);
    (error.output.payload as unknown as Record<string, unknown>).field = field;
    return error;
}

function unknownLanguage(language: string, live: Array<{ language: string }>): Boom.Boom {
    const names = [...new Set(live.map((entry) => entry.language))];
    const error = Boom.badRequest(names.length > 0
        ? `language "${language}" is not available; live workers run: ${names.join(', ')}`
        : `language "${language}" is not available; no worker is running (available: none)`);
    (error.output.payload as unknown as Record<string, unknown>).field = 'language';
    return error;
}

function jobIdOf(request: Request): string {
    const { job_id: id } = request.params as { job_id: string };
    if (!JOB_ID_PATTERN.test(id)) {
        throw Boom.notFound('Job not found');
    }

    return id;
}

async function submit(request: Request, h: ResponseToolkit) {
    const body = request.payload as SubmitBody;
    const user = caller(request);
    const { server } = request;
    const jobs = server.plugins['collab-jobs'];
    if (Buffer.byteLength(body.code) > JOB_LIMITS.maxCodeBytes) {
        throw tooLarge('code', JOB_LIMITS.maxCodeBytes);
    }

    if (body.stdin !== undefined && Buffer.byteLength(body.stdin) > JOB_LIMITS.maxStdinBytes) {
        throw tooLarge('stdin', JOB_LIMITS.maxStdinBytes);
    }

    const { live, languages } = await jobs.languages.check(body.language);
    if (!live) {
        throw unknownLanguage(body.language, languages);
    }

    const key = request.headers['idempotency-key'] as string | undefined;
    const { job: row, created } = await withDatabase(async () => {
        if (body.workspace_id) {
            const { role } = await workspaceAccess(server.app.db, body.workspace_id, user.id);
            requireRole(role, WRITER_ROLES, 'submitting jobs in this workspace');
        }

        return insertJob(server.app.db, user.id, body, { key, limit: server.app.config.jobsMaxActivePerUser });
    });
    if (!created) {
        return h.response({ message: 'Job already submitted with this Idempotency-Key', job_id: row.id, status: row.status }).code(200);
    }

    // The row is committed: announce it, then enqueue (a worker can only start it after that).
    if (row.workspace_id !== null) {
        await server.app.bus.publish(row.workspace_id, { event: JOB_EVENTS.queued, payload: { job_id: row.id, status: 'queued' }, user: user.email, user_id: user.id })
            .catch((err: Error) => server.app.logger.warn({ err: err.message, job_id: row.id }, 'cannot publish job.queued'));
    }

    await jobs.producer.enqueue(row.id);
    return h.response({ message: 'Job queued', job_id: row.id, status: 'queued' }).code(202);
}

async function list(request: Request, h: ResponseToolkit) {
    const { limit, cursor, status, workspace_id: workspaceId } = request.query as unknown as PageQuery & { status?: JobStatus; workspace_id?: number };
    const before = decodeCursor(cursor, 'id');
    const query = Job.query(request.server.app.db).select(VIEW_COLUMNS).where('user_id', caller(request).id);
    if (status) {
        query.where('status', status);
    }

    if (workspaceId) {
        query.where('workspace_id', workspaceId);
    }

    if (before !== undefined) {
        query.where('seq', '<', before);
    }

    const rows: Job[] = await withDatabase(async () => query.orderBy('seq', 'desc').limit(limit + 1));
    const page = rows.slice(0, limit);
    const response = h.response(page.map((row) => row.toApi()));
    if (rows.length > limit) {
        response.header('link', `<${nextPageUrl(request, page[page.length - 1]!.seq)}>; rel="next"`);
    }

    return response;
}

/** Routes of `/api/jobs/`. */
export const jobRoutes: ServerRoute[] = [
    {
        method: 'POST',
        path: '/api/jobs/submit',
        options: {
            tags,
            description: 'Queue a program to run in the sandbox. 202 with its job_id; with an Idempotency-Key already used for the same body within 24 h, 200 with that job. '
                + 'code and stdin over 64 KiB are 413; an unknown language is 400 listing the languages of live workers (none when no worker runs). '
                + 'While the database is down: 503, nothing queued. While Redis is down: 202, the job stays queued and is enqueued once Redis is back. '
                + 'A caller with JOBS_MAX_ACTIVE_PER_USER (default 20) jobs queued or running gets 429 and nothing is queued; a repeated Idempotency-Key still gets its job (200).',
            plugins: {
                'hapi-swagger': {
                    responses: {
                        200: { description: 'The job of an earlier submit with this Idempotency-Key', schema: submitted },
                        ...errors(400, 401, 403, 404, 409, 413, 503),
                        429: {
                            description: 'Rate limited, or the caller\'s job quota is full (JOBS_MAX_ACTIVE_PER_USER queued or running). '
                                + 'Retry-After: seconds until the first running job reaches its time limit (1 to 60), or 10 when all are queued',
                            schema: errorBody
                        }
                    }
                }
            },
            validate: { payload: submitJob, headers: submitHeaders },
            response: { status: { 200: submitted, 202: submitted } },
            handler: submit
        }
    },
    {
        method: 'GET',
        path: '/api/jobs',
        options: {
            tags,
            description: 'The caller\'s jobs, newest first; filter by status and workspace_id; paginated (limit, cursor, Link rel="next")',
            plugins: { 'hapi-swagger': { responses: errors(400, 401, 429, 503) } },
            validate: { query: jobQuery },
            response: { status: { 200: jobList } },
            handler: list
        }
    },
    {
        method: 'GET',
        path: '/api/jobs/languages',
        options: {
            tags,
            description: 'Languages and versions that live workers can run now',
            plugins: { 'hapi-swagger': { responses: errors(401, 429, 503) } },
            response: { status: { 200: languageList } },
            handler: (request) => request.server.plugins['collab-jobs'].languages.fresh()
        }
    },
    {
        method: 'GET',
        path: '/api/jobs/{job_id}',
        options: {
            tags,
            description: 'A job: its status, attempts and, once it ended, exit code, output and timings (submitter or members of its workspace)',
            plugins: { 'hapi-swagger': { responses: errors(401, 404, 429, 503) } },
            validate: { params: jobParams },
            response: { status: { 200: job } },
            handler: async (request) => {
                const id = jobIdOf(request);
                const found = await withDatabase(async () => Job.query(request.server.app.db).select(VIEW_COLUMNS).modify('visibleTo', caller(request).id).findById(id));
                if (!found) {
                    throw Boom.notFound('Job not found');
                }

                return found.toApi();
            }
        }
    },
    {
        method: 'POST',
        path: '/api/jobs/{job_id}/cancel',
        options: {
            tags,
            description: 'Cancel a job (submitter only): a queued job is cancelled at once; a running one is killed, then cancelled. 409 once it ended.',
            plugins: { 'hapi-swagger': { responses: errors(401, 403, 404, 409, 429, 503) } },
            validate: { params: jobParams },
            response: { status: { 202: submitted } },
            handler: async (request, h) => {
                const id = jobIdOf(request);
                const result = await withDatabase(() => cancelJob(request.server, id, caller(request)));
                return h.response(result).code(202);
            }
        }
    }
];
