/** A page of the console, as the address's hash names it. */
export type Route =
    | { page: 'projects' }
    | { page: 'project'; id: number }
    | { page: 'workspace'; id: number; file?: string };

/** Reads `#/`, `#/projects/7`, `#/workspaces/3` or `#/workspaces/3/src/main.py`. */
export function parseRoute(hash: string): Route {
    const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
    const id = Number(parts[1]);
    if (parts[0] === 'projects' && Number.isSafeInteger(id) && id > 0) {
        return { page: 'project', id };
    }

    if (parts[0] === 'workspaces' && Number.isSafeInteger(id) && id > 0) {
        const file = parts.slice(2).map(decodeURIComponent).join('/');
        return { page: 'workspace', id, file: file || undefined };
    }

    return { page: 'projects' };
}

/** The hash of a project's page. */
export const projectHref = (id: number): string => `#/projects/${id}`;

/** The hash of a workspace's page, with a file open. */
export const workspaceHref = (id: number, file?: string): string =>
    `#/workspaces/${id}${file ? `/${file.split('/').map(encodeURIComponent).join('/')}` : ''}`;
