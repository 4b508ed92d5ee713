// The floor of the REST benchmark: the same list query on a bare node:http + pg server, with no
// framework, auth, validation, rate limiting, logging or metrics. One pool of 10 connections and
// an unnamed statement, as a plain pg program runs it. Started by bench/rest.ts; prints "ready".
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

interface Pool {
    query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
}

// pg publishes no types of its own; this is all the floor uses of it.
const pg = createRequire(import.meta.url)('pg') as { Pool: new (options: { connectionString?: string; max: number }) => Pool };
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const LIST = `select projects.*, memberships.role from projects join memberships on memberships.project_id = projects.id
    where memberships.user_id = $1 order by projects.id limit $2`;

const server = createServer((_request, response) => {
    pool.query(LIST, [Number(process.env.USER_ID), 51]).then(({ rows }) => {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rows));
    }, () => response.writeHead(500).end());
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
