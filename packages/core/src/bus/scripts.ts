import { LuaScript } from '../lua-script.js';

/**
 * Forgets a workspace's sequence and history when they were written under
 * another master: after a failover (or a restart) the promoted node may
 * lack the last writes, and handing out their seqs again would make
 * clients skip events silently. A new epoch tells them instead (DESIGN §5,
 * §9). The master's replication id changes whenever a node becomes master.
 * KEYS[1] meta hash, KEYS[2] stream.
 */
const FORGET_OTHER_MASTERS = `
local origin = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
local writer = redis.call('HGET', KEYS[1], 'origin')
if writer and writer ~= origin then
    redis.call('DEL', KEYS[1], KEYS[2])
end
`;

/** Records the current master as the writer of a meta hash that exists (after FORGET_OTHER_MASTERS). */
const MARK_ORIGIN = `
if writer ~= origin then
    redis.call('HSET', KEYS[1], 'origin', origin)
end
`;

/**
 * Publishes one event atomically: a new epoch when another master wrote the
 * last one (see FORGET_OTHER_MASTERS), next seq, the epoch (created with the
 * sequence, so a Redis that lost the data starts a new one), the capped
 * stream, the TTLs, and the pub/sub fan-out. The envelope JSON arrives in
 * two halves and only `seq` and `epoch` are spliced in, so it is serialized
 * once. Stream IDs are `0-<seq>`, which makes "after SEQ" an XRANGE.
 *
 * KEYS: meta hash, stream.
 * ARGV: candidate epoch, JSON head, JSON tail, history size, TTL seconds,
 * channel, instance id, publish command (`PUBLISH`, or `SPUBLISH` on a cluster).
 * Returns `{seq, epoch}`.
 */
export const publishScript = new LuaScript(`${FORGET_OTHER_MASTERS}
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
    epoch = ARGV[1]
    redis.call('HSET', KEYS[1], 'epoch', epoch)
    redis.call('DEL', KEYS[2])
end
${MARK_ORIGIN}
local json = ARGV[2] .. ',"seq":' .. seq .. ',"epoch":"' .. epoch .. '"' .. ARGV[3]
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '0-' .. seq, 'e', json)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call(ARGV[8], ARGV[6], ARGV[7] .. '\\n' .. json)
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
export const readScript = new LuaScript(`${FORGET_OTHER_MASTERS}
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
${MARK_ORIGIN}
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
