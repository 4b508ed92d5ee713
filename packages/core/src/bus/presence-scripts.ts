import { LuaScript } from '../lua-script.js';

/**
 * Sets or adds to one instance's connection count for a user in a
 * workspace, and keeps the user's total across instances with it, so
 * first/last are decided atomically.
 *
 * KEYS: connections hash (`instance|user` → count), totals hash (user →
 * count), users hash (user → `{user, since}`), the instance's workspace set.
 * ARGV: field, user id, 'add' or 'set', n, user JSON, workspace id,
 * '1' when the instance has no one left in the workspace.
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
if ARGV[7] == '1' then
    redis.call('SREM', KEYS[4], ARGV[6])
else
    redis.call('SADD', KEYS[4], ARGV[6])
end
return {before, after}
`);

/**
 * Removes a dead instance's connections from one workspace, unless its
 * heartbeat came back. Returns the users whose total fell to zero as
 * `[user id, user JSON, …]`, or nil when the instance is alive.
 *
 * KEYS: connections hash, totals hash, users hash, the instance's heartbeat.
 * ARGV: `instance|`.
 */
export const sweepWorkspaceScript = new LuaScript(`
if redis.call('EXISTS', KEYS[4]) == 1 then
    return false
end
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

/**
 * Forgets a dead instance once its workspaces are swept, unless its
 * heartbeat came back.
 *
 * KEYS: heartbeat, the instance's workspace set, the instances set.
 * ARGV: instance id.
 */
export const forgetInstanceScript = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
    return 0
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`);
