/** Roles in a project, most powerful first (DESIGN §4). */
export const ROLES = ['owner', 'collaborator', 'viewer'] as const;

/** A role in a project. */
export type Role = (typeof ROLES)[number];

/** Roles that may write: edit projects and workspaces, send events, write files, submit jobs. */
export const WRITER_ROLES: readonly Role[] = ['owner', 'collaborator'];
