import { LuaScript } from '../lua-script.js';

/**
 * Publishes one event atomically: next seq, the epoch (created with the
 * sequence, so a Redis that lost the data starts a new one), the capped
 * stream, the TTLs, and the pub/sub fan-out. The envelope JSON arrives in
 * two halves and only `seq` and `epoch` are spliced in, so it is serialized
 * once. Stream IDs are `0-<seq>`, which makes "after SEQ" an XRANGE.
 *
 * KEYS: meta hash, stream.
 * ARGV: candidate epoch, JSON head, JSON tail, history size, TTL seconds,
 * channel, instance id.
 * Returns `{seq, epoch}`.
 */
export const publishScript = new LuaScript(`
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
    epoch = ARGV[1]
    redis.call('HSET', KEYS[1], 'epoch', epoch)
    redis.call('DEL', KEYS[2])
end
local json = ARGV[2] .. ',"seq":' .. seq .. ',"epoch":"' .. epoch .. '"' .. ARGV[3]
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '0-' .. seq, 'e', json)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[7] .. '\\n' .. json)
return {seq, epoch}
`);

/**
 * Reads retained events after a seq. With a candidate epoch it creates the
 * epoch when there is none, so a client that reads an empty workspace keeps
 * a valid epoch once events start; with '' it only reads.
 *
 * KEYS: meta hash, stream.
 * ARGV: candidate epoch or '', after seq, TTL seconds, count (0: all).
 * Returns `{epoch or nil, head seq, XRANGE reply}`.
 */
export const readScript = new LuaScript(`
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
    if ARGV[1] == '' then
        return {false, 0, {}}
    end
    epoch = ARGV[1]
    redis.call('HSET', KEYS[1], 'epoch', epoch)
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    redis.call('DEL', KEYS[2])
end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local start = '0-' .. (tonumber(ARGV[2]) + 1)
local range
if tonumber(ARGV[4]) > 0 then
    range = redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', ARGV[4])
else
    range = redis.call('XRANGE', KEYS[2], start, '+')
end
return {epoch, seq, range}
`);
