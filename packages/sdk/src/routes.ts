/** An HTTP method the API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One operation of the API: its method and path template (`{name}`, or `{name*}` for a `/`-separated path). */
export interface Route {
    method: HttpMethod;
    path: string;
    /** False for routes that take no access token (and so never trigger a refresh). */
    auth?: false;
    /** Always sends an `Idempotency-Key` header, which makes the POST safe to retry. */
    idempotent?: true;
}

/** Every route the SDK calls, in the trailing-slash form of DESIGN §4. One table; a test compares it with `/swagger.json`. */
export const ROUTES = {
    'auth.register': { method: 'POST', path: '/api/auth/register/', auth: false },
    'auth.login': { method: 'POST', path: '/api/auth/login/', auth: false },
    'auth.refresh': { method: 'POST', path: '/api/auth/refresh/', auth: false },
    'auth.logout': { method: 'POST', path: '/api/auth/logout/', auth: false },
    'auth.me': { method: 'GET', path: '/api/auth/me/' },

    'projects.create': { method: 'POST', path: '/api/projects/projects/' },
    'projects.list': { method: 'GET', path: '/api/projects/projects/' },
    'projects.get': { method: 'GET', path: '/api/projects/projects/{id}/' },
    'projects.update': { method: 'PATCH', path: '/api/projects/projects/{id}/' },
    'projects.replace': { method: 'PUT', path: '/api/projects/projects/{id}/' },
    'projects.delete': { method: 'DELETE', path: '/api/projects/projects/{id}/' },

    'members.list': { method: 'GET', path: '/api/projects/projects/{id}/members/' },
    'members.add': { method: 'POST', path: '/api/projects/projects/{id}/members/' },
    'members.setRole': { method: 'PATCH', path: '/api/projects/projects/{id}/members/{user_id}/' },
    'members.remove': { method: 'DELETE', path: '/api/projects/projects/{id}/members/{user_id}/' },

    'workspaces.list': { method: 'GET', path: '/api/projects/projects/{id}/workspaces/' },
    'workspaces.create': { method: 'POST', path: '/api/projects/projects/{id}/workspaces/' },
    'workspaces.get': { method: 'GET', path: '/api/projects/workspaces/{id}/' },
    'workspaces.update': { method: 'PATCH', path: '/api/projects/workspaces/{id}/' },
    'workspaces.delete': { method: 'DELETE', path: '/api/projects/workspaces/{id}/' },
    'workspaces.presence': { method: 'GET', path: '/api/projects/workspaces/{id}/presence/' },

    'files.list': { method: 'GET', path: '/api/projects/workspaces/{id}/files/' },
    'files.get': { method: 'GET', path: '/api/projects/workspaces/{id}/files/{path*}' },
    'files.put': { method: 'PUT', path: '/api/projects/workspaces/{id}/files/{path*}' },
    'files.delete': { method: 'DELETE', path: '/api/projects/workspaces/{id}/files/{path*}' },

    'events.send': { method: 'POST', path: '/api/projects/workspaces/{id}/events/' },
    'events.history': { method: 'GET', path: '/api/projects/workspaces/{id}/events/' },

    'jobs.submit': { method: 'POST', path: '/api/jobs/submit/', idempotent: true },
    'jobs.list': { method: 'GET', path: '/api/jobs/' },
    'jobs.get': { method: 'GET', path: '/api/jobs/{job_id}/' },
    'jobs.cancel': { method: 'POST', path: '/api/jobs/{job_id}/cancel/' },
    'jobs.languages': { method: 'GET', path: '/api/jobs/languages/' },

    'admin.users': { method: 'GET', path: '/api/admin/users/' },
    'admin.updateUser': { method: 'PATCH', path: '/api/admin/users/{id}/' },
    'admin.stats': { method: 'GET', path: '/api/admin/stats/' },
    'admin.retryJob': { method: 'POST', path: '/api/admin/jobs/{job_id}/retry/' }
} as const satisfies Record<string, Route>;

/** The name of an operation in `ROUTES`. */
export type RouteName = keyof typeof ROUTES;

/** Path parameter values. */
export type PathParams = Record<string, string | number>;

/** Whether a `/`-separated path holds a `.` or `..` segment, which a URL resolves away. */
export const hasDotSegment = (path: string): boolean => path.split('/').some((segment) => segment === '.' || segment === '..');

/**
 * Fills a path template: each `{name}` with its encoded value, each `{name*}` with the value's
 * `/`-separated segments encoded one by one (the slashes stay).
 */
export function expandPath(template: string, params: PathParams = {}): string {
    return template.replace(/\{(\w+)(\*?)\}/g, (_match, name: string, wildcard: string) => {
        const value = params[name];
        if (value === undefined || value === '') {
            throw new TypeError(`Missing path parameter ${name}`);
        }

        const text = String(value);
        if (hasDotSegment(text)) {
            throw new TypeError(`Path parameter ${name} must not hold . or .. segments (the URL would resolve them to another route)`);
        }

        return wildcard ? text.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(text);
    });
}
