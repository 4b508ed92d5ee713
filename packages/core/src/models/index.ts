export { User } from './user.js';
export { RefreshToken } from './refresh-token.js';
export { Project } from './project.js';
export { Membership } from './membership.js';
export { Workspace } from './workspace.js';
export { WorkspaceFile } from './workspace-file.js';
export { Job, JOB_RESOURCE_COLUMNS, jobResource, type JobResourceRow } from './job.js';
