/**
 * Lua for presence across nodes. Per channel (hash tag `{p:<channel>}`): a hash of entries
 * `<client>\n<node>` → `<since>|<connections>`, a hash counting each client's entries (how many
 * nodes report it), and a sorted set of entries by expiry. A node refreshes its entries' expiry
 * while it lives; the entries of a node that died expire and are swept by whichever node looks.
 */

/** Removes expired entries; answers the clients that no node reports any more. KEYS: entries, counts, expiry. ARGV: now. */
const SWEEP = `
local function sweep(now)
  local left = {}
  for _, field in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
    redis.call('ZREM', KEYS[3], field)
    if redis.call('HDEL', KEYS[1], field) == 1 then
      local client = string.match(field, '^(.*)\\n')
      if redis.call('HINCRBY', KEYS[2], client, -1) <= 0 then
        redis.call('HDEL', KEYS[2], client)
        left[#left + 1] = client
      end
    end
  end
  return left
end
`

/**
 * KEYS: entries, counts, expiry. ARGV: client, node, since, connections, expires at, now.
 * Answers 'join' (no node reported the client before), 'leave' (none does now) or ''.
 */
export const PRESENCE_UPDATE = `${SWEEP}
sweep(tonumber(ARGV[6]))
local field = ARGV[1] .. '\\n' .. ARGV[2]
if tonumber(ARGV[4]) > 0 then
  local added = redis.call('HSET', KEYS[1], field, ARGV[3] .. '|' .. ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[5], field)
  if added == 1 and redis.call('HINCRBY', KEYS[2], ARGV[1], 1) == 1 then return 'join' end
  return ''
end
redis.call('ZREM', KEYS[3], field)
if redis.call('HDEL', KEYS[1], field) == 1 and redis.call('HINCRBY', KEYS[2], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 'leave'
end
return ''
`

/** KEYS: entries, counts, expiry. ARGV: now. Sweeps, then answers {left clients…, '', field, value, …}. */
export const PRESENCE_LIST = `${SWEEP}
local out = sweep(tonumber(ARGV[1]))
out[#out + 1] = ''
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do out[#out + 1] = v end
return out
`

/** KEYS: entries, counts, expiry. ARGV: now. Answers the clients whose last entry expired. */
export const PRESENCE_SWEEP = `${SWEEP}
return sweep(tonumber(ARGV[1]))
`
