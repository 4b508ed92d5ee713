/**
 * Redis names used by the bus and presence. The `{ws:ID}` hash tag keeps a
 * workspace's keys and its channel in one cluster slot, so its Lua scripts
 * stay valid there and its events go to that slot's shard (`SPUBLISH`).
 */
export function busKeys(prefix: string) {
    return {
        meta: (workspaceId: number) => `${prefix}bus:{ws:${workspaceId}}:meta`,
        log: (workspaceId: number) => `${prefix}bus:{ws:${workspaceId}}:log`,
        channel: (workspaceId: number) => `${prefix}bus:{ws:${workspaceId}}:events`,
        channelPrefix: `${prefix}bus:{ws:`,
        control: `${prefix}bus:control`
    };
}

/**
 * Redis names used by presence: a workspace's under its `{ws:ID}` tag, an
 * instance's (one life of it, see `Presence`) under its own `{instance:ID}` tag.
 */
export function presenceKeys(prefix: string) {
    return {
        connections: (workspaceId: number) => `${prefix}presence:{ws:${workspaceId}}:connections`,
        totals: (workspaceId: number) => `${prefix}presence:{ws:${workspaceId}}:totals`,
        users: (workspaceId: number) => `${prefix}presence:{ws:${workspaceId}}:users`,
        heartbeat: (instanceId: string) => `${prefix}presence:{instance:${instanceId}}:alive`,
        instanceWorkspaces: (instanceId: string) => `${prefix}presence:{instance:${instanceId}}:workspaces`,
        instances: `${prefix}presence:instances`,
        sweepLock: `${prefix}presence:sweep-lock`
    };
}

/**
 * Redis names of collaborative documents: one pub/sub channel per document,
 * under its workspace's `{ws:ID}` hash tag (so cluster mode can shard it).
 */
export function docKeys(prefix: string) {
    return {
        channel: (workspaceId: number, path: string) => `${prefix}docs:{ws:${workspaceId}}:${path}`,
        channelPrefix: `${prefix}docs:{ws:`
    };
}
