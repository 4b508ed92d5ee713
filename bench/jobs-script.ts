// A user's script that runs many small jobs with the SDK, as the README suggests writing it: as many
// at once as the user's quota allows (JOBS_MAX_ACTIVE_PER_USER, 20 by default), each submitted and
// awaited with jobs.wait(). bench/jobs.ts runs it as a child process against a server with the
// default quota; it prints one JSON line.
// COLLAB_SERVER, COLLAB_EMAIL, COLLAB_PASSWORD: where and who; SCRIPT_JOBS (1000), SCRIPT_AT_ONCE (20).
import { performance } from 'node:perf_hooks';

import { CollabClient, type JobStatus } from '@collab/sdk';

const jobs = Number(process.env.SCRIPT_JOBS ?? 1000);
const atOnce = Number(process.env.SCRIPT_AT_ONCE ?? 20);
const client = new CollabClient({ baseUrl: process.env.COLLAB_SERVER! });
await client.auth.login({ email: process.env.COLLAB_EMAIL!, password: process.env.COLLAB_PASSWORD! });

const statuses: Partial<Record<JobStatus, number>> = {};
const started = performance.now();
let next = 0;
await Promise.all(Array.from({ length: atOnce }, async () => {
    while (next < jobs) {
        next += 1;
        const { job_id: id } = await client.jobs.submit({ code: "print('Hello World')", language: 'python' });
        const job = await client.jobs.wait(id);
        statuses[job.status] = (statuses[job.status] ?? 0) + 1;
    }
}));
const seconds = (performance.now() - started) / 1000;
await client.realtime.close();
const { user, system } = process.cpuUsage();
console.log(JSON.stringify({
    jobs,
    at_once: atOnce,
    seconds: Math.round(seconds * 1000) / 1000,
    jobs_per_second: Math.round((jobs / seconds) * 10) / 10,
    statuses,
    script_cpu_ms_per_job: Math.round(((user + system) / 1000 / jobs) * 10) / 10
}));
