import { createRequire } from 'node:module';

import type HapiSwagger from 'hapi-swagger';

const require = createRequire(import.meta.url);

/**
 * hapi-swagger depends on joi 17 and refuses to describe joi 18 schemas
 * ("Cannot mix different versions of joi schemas"). The monorepo aligns them
 * with an npm override, but an override does not reach those who install the
 * published package, so hapi-swagger's `require('joi')` is pointed at ours
 * before it loads.
 */
export async function loadHapiSwagger(): Promise<typeof HapiSwagger> {
    const ours = require.resolve('joi');
    const theirs = createRequire(require.resolve('hapi-swagger')).resolve('joi');
    if (theirs !== ours) {
        require('joi');
        require.cache[theirs] = require.cache[ours];
    }

    const module = await import('hapi-swagger') as unknown as { default: typeof HapiSwagger };
    return module.default;
}
