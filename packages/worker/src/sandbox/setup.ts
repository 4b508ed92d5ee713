import type { Config, Logger } from '@collab/core';

import { CgroupHost, CGROUPS_HINT, CgroupsUnavailableError } from './cgroups.js';
import { SandboxStartError } from './errors.js';
import { sandboxIdentity } from './job-dir.js';
import { creatorIsGone } from './stale-job-dirs.js';

let warned = false;

/**
 * Finds the host's per-job cgroups once, at the worker's start; the worker
 * hands them to each of its runs (RunSpec `cgroups`). Without per-job
 * cgroups the worker refuses to start when NODE_ENV=production (a
 * SandboxStartError of one line saying what to enable) and warns once
 * otherwise. Groups left by dead workers of this PID namespace are removed.
 */
export function setUpSandboxHost(options: { config: Config; cgroupRoot: string; logger: Logger }): CgroupHost | undefined {
    const { config, logger } = options;
    let cgroups: CgroupHost | undefined;
    try {
        cgroups = CgroupHost.open({ root: options.cgroupRoot, identity: sandboxIdentity() });
    }
    catch (error) {
        if (!(error instanceof CgroupsUnavailableError)) {
            throw error;
        }
        if (config.nodeEnv === 'production') {
            throw new SandboxStartError(`per-job cgroups unavailable: ${CGROUPS_HINT}`);
        }
        if (!warned) {
            warned = true;
            logger.warn({ err: error.message }, `per-job cgroups unavailable, so memory and processes are bounded per process only: ${CGROUPS_HINT}`);
        }
    }
    cgroups
        ?.sweep((creator) => creatorIsGone(creator) === true)
        .then((removed) => removed > 0 && logger.info({ removed }, 'removed job cgroups left by stopped workers'))
        .catch((error: Error) => logger.warn({ err: error.message }, 'cannot sweep stale job cgroups'));
    return cgroups;
}
