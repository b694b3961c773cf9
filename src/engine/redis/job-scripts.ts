/**
 * Lua for jobs. The state machine stays in TypeScript (core/jobs/machine.ts): a script only
 * stores what it computed, after checking that the job is still what it was read as
 * (compare-and-set on the stored document), and moves the job's id between the queue's list,
 * the due schedule and the per-state indexes in the same atomic step. All keys of jobs carry the
 * hash tag `{jobs}` (see keys.ts), so one script may touch them together, on a Cluster too.
 */

/**
 * KEYS: job, idempotency key (or the job key again), queue list, due zset, state index.
 * ARGV: document, id, has key (0/1), window ms, enqueue (0/1), due at ('' for none), created at.
 * Answers {0} stored, {1, id} replay of an earlier submit with the key, {2} the id exists.
 */
export const JOB_SUBMIT = `
if ARGV[3] == '1' then
  local earlier = redis.call('GET', KEYS[2])
  if earlier then return {1, earlier} end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {2} end
redis.call('SET', KEYS[1], ARGV[1])
if ARGV[5] == '1' then redis.call('RPUSH', KEYS[3], ARGV[2]) end
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2]) end
redis.call('ZADD', KEYS[5], ARGV[7], ARGV[2])
if ARGV[3] == '1' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4]) end
return {0}
`

/**
 * Any number of changes, each checked and stored on its own. Per change, KEYS: job, queue list,
 * due zset, old state index, new state index, ended zset; ARGV: expected document, new document,
 * id, enqueue (0/1), dequeue (0/1), due at ('' for none), created at, finished at ('' for none).
 * Answers one flag per change: 1 stored, 0 the job changed meanwhile (nothing stored).
 */
export const JOB_CHANGE = `
local out = {}
for n = 0, #KEYS / 6 - 1 do
  local k, a = n * 6, n * 8
  if redis.call('GET', KEYS[k + 1]) ~= ARGV[a + 1] then
    out[#out + 1] = 0
  else
    local id = ARGV[a + 3]
    redis.call('SET', KEYS[k + 1], ARGV[a + 2])
    if ARGV[a + 5] == '1' then redis.call('LREM', KEYS[k + 2], 1, id) end
    if ARGV[a + 4] == '1' then redis.call('RPUSH', KEYS[k + 2], id) end
    if ARGV[a + 6] == '' then redis.call('ZREM', KEYS[k + 3], id) else redis.call('ZADD', KEYS[k + 3], ARGV[a + 6], id) end
    if KEYS[k + 4] ~= KEYS[k + 5] then
      redis.call('ZREM', KEYS[k + 4], id)
      redis.call('ZADD', KEYS[k + 5], ARGV[a + 7], id)
    end
    if ARGV[a + 8] ~= '' then redis.call('ZADD', KEYS[k + 6], ARGV[a + 8], id) end
    out[#out + 1] = 1
  end
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
 * KEYS: ended zset. ARGV: finished before, limit, job key prefix, state index prefix.
 * Removes jobs that ended before the cutoff; answers their ids.
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
  redis.call('ZREM', KEYS[1], id)
end
return ids
`
