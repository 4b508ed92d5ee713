import { LuaScript } from '../lua-script.js';

/**
 * Sets or adds to one instance's connection count for a user in a
 * workspace, and keeps the user's total across instances with it, so
 * first/last are decided atomically. All keys are the workspace's (one
 * cluster slot); the instance's set of workspaces is kept beside it.
 *
 * KEYS: connections hash (`instance|user` → count), totals hash (user →
 * count), users hash (user → `{user, since}`).
 * ARGV: field, user id, 'add' or 'set', n, user JSON.
 * Returns `{total before, total after}`.
 */
export const adjustScript = new LuaScript(`
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local new = tonumber(ARGV[4])
if ARGV[3] == 'add' then
    new = old + new
end
if new < 0 then
    new = 0
end
if new > 0 then
    redis.call('HSET', KEYS[1], ARGV[1], new)
else
    redis.call('HDEL', KEYS[1], ARGV[1])
end
local before = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
local after = before + new - old
if after > 0 then
    redis.call('HSET', KEYS[2], ARGV[2], after)
    redis.call('HSETNX', KEYS[3], ARGV[2], ARGV[5])
else
    after = 0
    redis.call('HDEL', KEYS[2], ARGV[2])
    redis.call('HDEL', KEYS[3], ARGV[2])
end
return {before, after}
`);

/**
 * Removes a dead instance's connections from one workspace. Returns the
 * users whose total fell to zero as `[user id, user JSON, …]`.
 *
 * KEYS: connections hash, totals hash, users hash.
 * ARGV: `instance|`.
 */
export const sweepWorkspaceScript = new LuaScript(`
local left = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
    local field = all[i]
    if string.sub(field, 1, #ARGV[1]) == ARGV[1] then
        local user = string.sub(field, #ARGV[1] + 1)
        redis.call('HDEL', KEYS[1], field)
        local total = redis.call('HINCRBY', KEYS[2], user, -tonumber(all[i + 1]))
        if total <= 0 then
            table.insert(left, user)
            table.insert(left, redis.call('HGET', KEYS[3], user) or '{}')
            redis.call('HDEL', KEYS[2], user)
            redis.call('HDEL', KEYS[3], user)
        end
    end
end
return left
`);
