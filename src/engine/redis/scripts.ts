/**
 * Lua run inside Redis. Each script is one atomic step: no other client sees a half-done batch.
 * Stream entries have fields i (id), t (time), c (content type), h (headers JSON), p (payload).
 */

/** Drops entries past the count limit and older than the age limit, keeping `bytes` true. */
export const TRIM = `
local function field(entry, name)
  local f = entry[2]
  for k = 1, #f, 2 do if f[k] == name then return f[k + 1] end end
  return ''
end
local function trim(stream, meta, max, age, now)
  local len = redis.call('XLEN', stream)
  local removed = 0
  local last = nil
  if len > max then
    local old = redis.call('XRANGE', stream, '-', '+', 'COUNT', len - max)
    for _, e in ipairs(old) do removed = removed + #field(e, 'p'); last = e[1] end
  end
  if age > 0 then
    local start = '-'
    if last then start = '(' .. last end
    while true do
      local batch = redis.call('XRANGE', stream, start, '+', 'COUNT', 100)
      local young = false
      for _, e in ipairs(batch) do
        if tonumber(field(e, 't')) >= now - age then young = true; break end
        removed = removed + #field(e, 'p'); last = e[1]
      end
      if young or #batch < 100 then break end
      start = '(' .. last
    end
  end
  if last then
    local offset = tonumber(string.match(last, '^(%d+)'))
    redis.call('XTRIM', stream, 'MINID', (offset + 1) .. '-0')
    redis.call('HINCRBY', meta, 'bytes', -removed)
  end
end
`

/**
 * Lua function (needs TRIM): appends `count` messages to one channel from ARGV at `pos`, four per
 * message (id, content type, headers, payload), trims it and announces the range on `notify`.
 * Answers the first offset, or 0 for none.
 */
export const APPEND_MESSAGES = `
local function append_messages(stream, meta, max, age, now, notify, name, pos, count)
  local first, last = nil, nil
  for e = 0, count - 1 do
    local p = pos + e * 4
    local offset = redis.call('HINCRBY', meta, 'last', 1)
    local payload = ARGV[p + 3]
    redis.call('XADD', stream, offset .. '-0', 'i', ARGV[p], 't', now, 'c', ARGV[p + 1], 'h', ARGV[p + 2], 'p', payload)
    redis.call('HINCRBY', meta, 'bytes', #payload)
    if not first then first = offset end
    last = offset
  end
  if not first then return 0 end
  trim(stream, meta, max, age, tonumber(now))
  redis.call('PUBLISH', notify, name .. '\\n' .. first .. '\\n' .. last)
  return first
end
`

/**
 * KEYS: idempotency key (any key of the batch's slot when there is none), then stream and meta per
 * channel.
 * ARGV: now, window ms, has key (0/1), record template, notify channel, channel count,
 * per channel (max, age, name), then per item (channel index, id, content type, headers, payload).
 * Answers {1, stored record} for a replay, else {0, offsets…}.
 */
export const APPEND = `${TRIM}
local now = tonumber(ARGV[1])
if ARGV[3] == '1' then
  local earlier = redis.call('GET', KEYS[1])
  if earlier then return {1, earlier} end
end
local count = tonumber(ARGV[6])
local pos = 7
local chans = {}
for c = 1, count do
  chans[c] = { stream = KEYS[2 * c], meta = KEYS[1 + 2 * c], max = tonumber(ARGV[pos]),
    age = tonumber(ARGV[pos + 1]), name = ARGV[pos + 2] }
  pos = pos + 3
end
local offsets = {}
while pos <= #ARGV do
  local ch = chans[tonumber(ARGV[pos])]
  local offset = redis.call('HINCRBY', ch.meta, 'last', 1)
  local payload = ARGV[pos + 4]
  redis.call('XADD', ch.stream, offset .. '-0', 'i', ARGV[pos + 1], 't', ARGV[1], 'c', ARGV[pos + 2],
    'h', ARGV[pos + 3], 'p', payload)
  redis.call('HINCRBY', ch.meta, 'bytes', #payload)
  if not ch.first then ch.first = offset end
  ch.last = offset
  offsets[#offsets + 1] = offset
  pos = pos + 5
end
for _, ch in ipairs(chans) do
  trim(ch.stream, ch.meta, ch.max, ch.age, now)
  redis.call('PUBLISH', ARGV[5], ch.name .. '\\n' .. ch.first .. '\\n' .. ch.last)
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], ARGV[4] .. '|' .. table.concat(offsets, ','), 'PX', ARGV[2])
end
local out = {0}
for _, o in ipairs(offsets) do out[#out + 1] = o end
return out
`

/** KEYS: stream, meta. ARGV: now, max, age, after, limit. Trims, then answers the entries after `after`. */
export const READ = `${TRIM}
if redis.call('EXISTS', KEYS[2]) == 0 then return {} end
trim(KEYS[1], KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[1]))
return redis.call('XRANGE', KEYS[1], (tonumber(ARGV[4]) + 1) .. '-0', '+', 'COUNT', ARGV[5])
`

/** KEYS: stream, meta. ARGV: now, max, age. Trims, then answers {last, bytes, length, first id or ''}. */
export const INFO = `${TRIM}
if redis.call('EXISTS', KEYS[2]) == 0 then return nil end
trim(KEYS[1], KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[1]))
local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local first = ''
if #head > 0 then first = head[1][1] end
return {redis.call('HGET', KEYS[2], 'last'), redis.call('HGET', KEYS[2], 'bytes') or '0',
  redis.call('XLEN', KEYS[1]), first}
`
