import { APPEND_MESSAGES, TRIM } from './scripts.js'

/**
 * Lua for jobs. The state machine stays in TypeScript (core/jobs/machine.ts): a script only
 * stores what it computed, after checking that the job is still what it was read as
 * (compare-and-set on the stored document), and moves the job's id between the queue's list,
 * the due schedule and the per-state indexes in the same atomic step. All keys of jobs carry the
 * hash tag `{jobs}` (see keys.ts), so one script may touch them together, on a Cluster too.
 */

/**
 * Common ARGV head of the writing scripts: now, the job channels' max messages and max age, the
 * channel notification topic, the jobs notice topic.
 */
const HEAD = 5

/**
 * Per stored change: appends its events to its channel and publishes its notices. `a` is where its
 * events start in ARGV: `events` × (id, content type, headers, payload), then `notices` strings.
 */
const EVENTS_AND_NOTICES = `
local function events_and_notices(stream, meta, name, a, events, notices)
  local first = append_messages(stream, meta, tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[1], ARGV[4], name, a, events)
  for n = 0, notices - 1 do redis.call('PUBLISH', ARGV[5], ARGV[a + events * 4 + n]) end
  return first
end
`

/**
 * KEYS: job, idempotency key (or the job key again), queue list, due zset, state index, the job
 * channel's stream and meta. ARGV: the head, then document, id, has key (0/1), window ms, enqueue
 * (0/1), due at ('' for none), created at, channel name, event count, notice count, events, notices.
 * Answers {0, first event offset} stored, {1, id} replay of an earlier submit with the key, {2} the
 * id exists.
 */
export const JOB_SUBMIT = `${TRIM}${APPEND_MESSAGES}${EVENTS_AND_NOTICES}
local a = ${HEAD} + 1
if ARGV[a + 2] == '1' then
  local earlier = redis.call('GET', KEYS[2])
  if earlier then return {1, earlier} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {2} end
redis.call('SET', KEYS[1], ARGV[a])
if ARGV[a + 4] == '1' then redis.call('RPUSH', KEYS[3], ARGV[a + 1]) end
if ARGV[a + 5] ~= '' then redis.call('ZADD', KEYS[4], ARGV[a + 5], ARGV[a + 1]) end
redis.call('ZADD', KEYS[5], ARGV[a + 6], ARGV[a + 1])
if ARGV[a + 2] == '1' then redis.call('SET', KEYS[2], ARGV[a + 1], 'PX', ARGV[a + 3]) end
local first = events_and_notices(KEYS[6], KEYS[7], ARGV[a + 7], a + 10, tonumber(ARGV[a + 8]), tonumber(ARGV[a + 9]))
return {0, first}
`

/**
 * Any number of changes, each checked and stored on its own with its events and notices. Per
 * change, KEYS: job, queue list, due zset, old state index, new state index, ended zset, the job
 * channel's stream and meta; ARGV after the head: expected document, new document, id, enqueue
 * (0/1), dequeue (0/1), due at ('' for none), created at, finished at ('' for none), channel name,
 * event count, notice count, events, notices. Answers per change {1, first event offset} stored or
 * {0, 0} when the job changed meanwhile (nothing stored).
 */
export const JOB_CHANGE = `${TRIM}${APPEND_MESSAGES}${EVENTS_AND_NOTICES}
local out = {}
local a = ${HEAD} + 1
for n = 0, #KEYS / 8 - 1 do
  local k = n * 8
  local events, notices = tonumber(ARGV[a + 9]), tonumber(ARGV[a + 10])
  if redis.call('GET', KEYS[k + 1]) ~= ARGV[a] then
    out[#out + 1] = 0
    out[#out + 1] = 0
  else
    local id = ARGV[a + 2]
    redis.call('SET', KEYS[k + 1], ARGV[a + 1])
    if ARGV[a + 4] == '1' then redis.call('LREM', KEYS[k + 2], 1, id) end
    if ARGV[a + 3] == '1' then redis.call('RPUSH', KEYS[k + 2], id) end
    if ARGV[a + 5] == '' then redis.call('ZREM', KEYS[k + 3], id) else redis.call('ZADD', KEYS[k + 3], ARGV[a + 5], id) end
    if KEYS[k + 4] ~= KEYS[k + 5] then
      redis.call('ZREM', KEYS[k + 4], id)
      redis.call('ZADD', KEYS[k + 5], ARGV[a + 6], id)
    end
    if ARGV[a + 7] ~= '' then redis.call('ZADD', KEYS[k + 6], ARGV[a + 7], id) end
    out[#out + 1] = 1
    out[#out + 1] = events_and_notices(KEYS[k + 7], KEYS[k + 8], ARGV[a + 8], a + 11, events, notices)
  end
  a = a + 11 + events * 4 + notices
end
return out
`

/** KEYS: queue list. ARGV: job key prefix, count. Answers {id, document, …} of the front jobs. */
export const JOB_FRONT = `
local out = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('GET', ARGV[1] .. id) or false
end
return out
`

/**
 * KEYS: ended zset. ARGV: finished before, limit, job key prefix, state index prefix, job channel
 * key prefix. Removes jobs that ended before the cutoff, with their channels; answers their ids.
 */
export const JOB_PURGE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  local doc = redis.call('GET', ARGV[3] .. id)
  if doc then
    local job = cjson.decode(doc)
    redis.call('ZREM', ARGV[4] .. job.queue .. ':' .. job.state, id)
    redis.call('DEL', ARGV[3] .. id)
  end
  redis.call('UNLINK', ARGV[5] .. id .. ':s', ARGV[5] .. id .. ':m')
  redis.call('ZREM', KEYS[1], id)
end
return ids
`
