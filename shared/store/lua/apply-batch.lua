#!lua
--[[
  apply-batch: applies one batch's aggregate deltas and acknowledges its stream entries,
  atomically, and only if every entry of the batch is still pending in the group.
  This is what makes the pipeline exactly once: an entry that another delivery already
  applied is no longer pending, so a batch holding it changes nothing.

  An entry too large for one call is applied in parts (n = 1, part p of c): each part's
  deltas are applied together with a marker of that part (KEYS[2], a hash in the same
  hash slot), so a repeated part changes nothing; the last part also acknowledges the
  entry and deletes the markers. The caller applies parts in order.

  KEYS[1]    the partition stream
  KEYS[2]    the part markers of the entry (used only when applying parts)
  KEYS[3..]  aggregate keys referenced by the operations (all in the stream's hash slot)
  ARGV[1]    consumer group
  ARGV[2]    consumer name (takes ownership of the entries while it applies them)
  ARGV[3]    n, the number of entry ids
  ARGV[4 .. 3+n]  the entry ids
  ARGV[4+n]  part p (1-based), or 0 for whole entries
  ARGV[5+n]  part count c (0 for whole entries)
  ARGV[6+n]  seconds the part markers live
  ARGV[7+n ..]    operations, each an opcode followed by its arguments (key = index into KEYS):
    B key field cs ms s n lo tmax                      add to a sum bucket
    M key field cs ms s n lo tmax cmin cmax mmin mmax  add to a bucket that keeps extremes
    Z key member score                                 ZADD GT (latest time wins)
    L key at cpu mem timeslice firstAt                 a node's latest sample and first seen
    E key unixSeconds                                  EXPIREAT
    R key maxScore                                     drop members whose score <= maxScore
    D key names maxScore                               like R (up to 500 a call), also dropping them from zset `names`
    H key field value                                  HSET (bookkeeping such as last applied time)

  Returns {2, n} when applied and acknowledged; {0} when no entry was pending (nothing
  done); {1, id...} when only those ids are still pending (nothing done: the caller folds
  just those and calls again); for a part that is not the last, {3} when the part was
  applied now and {4} when an earlier delivery had applied it (nothing done).
]]
-- The "#!lua" line makes Redis 7 refuse the whole script up front when it is out of
-- memory, instead of failing on a write halfway through.
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
local part, parts, markerTtl = tonumber(ARGV[4 + n]), tonumber(ARGV[5 + n]), ARGV[6 + n]
local firstOp = 7 + n
local CHUNK = 500

-- Which ids are still pending? JUSTID leaves the delivery counts alone.
local claimed = {}
for first = 1, n, CHUNK do
  local args = { stream, group, consumer, 0 }
  for i = first, math.min(first + CHUNK - 1, n) do args[#args + 1] = ARGV[3 + i] end
  args[#args + 1] = 'JUSTID'
  local got = redis.call('XCLAIM', unpack(args))
  for _, id in ipairs(got) do claimed[#claimed + 1] = id end
end
if #claimed == 0 then return { 0 } end
if #claimed < n then
  table.insert(claimed, 1, 1)
  return claimed
end
local markers = KEYS[2]
if part > 0 then
  if n ~= 1 then return redis.error_reply('apply-batch: parts apply to one entry') end
  if part < parts and redis.call('HEXISTS', markers, part) == 1 then return { 4 } end
  -- Markers outlive any sensible delay; if they vanished, re-applying parts would count twice.
  if part == parts and redis.call('HLEN', markers) ~= parts - 1 then
    return redis.error_reply('apply-batch: earlier parts of ' .. ARGV[4] .. ' are not recorded')
  end
end

-- Check every key's type before writing anything: an error halfway would leave a
-- partial apply that a redelivery would then count twice.
local OP_WIDTH = { B = 9, M = 13, Z = 4, L = 7, E = 3, R = 3, H = 4, D = 4 }
local OP_TYPE = { B = 'hash', M = 'hash', L = 'hash', H = 'hash', Z = 'zset', R = 'zset', D = 'zset' }
do
  local i, last = firstOp, #ARGV
  while i <= last do
    local op = ARGV[i]
    local width = OP_WIDTH[op]
    if not width then return redis.error_reply('apply-batch: unknown operation ' .. tostring(op)) end
    local expected = OP_TYPE[op]
    if expected then
      local key = KEYS[tonumber(ARGV[i + 1])]
      local actual = redis.call('TYPE', key)['ok']
      if actual ~= 'none' and actual ~= expected then
        return redis.error_reply('WRONGTYPE apply-batch: ' .. key .. ' is a ' .. actual .. ', expected a ' .. expected)
      end
    end
    i = i + width
  end
end

local function fmt(x) return string.format('%.17g', x) end

local function parse(packed)
  local values = {}
  for part in string.gmatch(packed, '[^,]+') do values[#values + 1] = tonumber(part) end
  return values
end

-- delta = cs ms s n lo tmax [cmin cmax mmin mmax]: sums add, lo and minima take the
-- least, tmax and maxima the greatest.
local function merge(key, field, delta)
  local current = redis.call('HGET', key, field)
  if current then
    local c = parse(current)
    for i = 1, 4 do delta[i] = delta[i] + c[i] end
    delta[5] = math.min(delta[5], c[5])
    delta[6] = math.max(delta[6], c[6])
    if #delta == 10 then
      delta[7] = math.min(delta[7], c[7])
      delta[8] = math.max(delta[8], c[8])
      delta[9] = math.min(delta[9], c[9])
      delta[10] = math.max(delta[10], c[10])
    end
  end
  local out = {}
  for i = 1, #delta do out[i] = fmt(delta[i]) end
  redis.call('HSET', key, field, table.concat(out, ','))
end

local i = firstOp
local last = #ARGV
while i <= last do
  local op, key = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  if op == 'B' or op == 'M' then
    local width = op == 'B' and 6 or 10
    local delta = {}
    for j = 1, width do delta[j] = tonumber(ARGV[i + 2 + j]) end
    merge(key, ARGV[i + 2], delta)
    i = i + 3 + width
  elseif op == 'Z' then
    redis.call('ZADD', key, 'GT', ARGV[i + 3], ARGV[i + 2])
    i = i + 4
  elseif op == 'L' then
    local at = tonumber(ARGV[i + 2])
    local lastAt = tonumber(redis.call('HGET', key, 'last_at') or '-1')
    if at >= lastAt then
      redis.call('HSET', key, 'last_at', ARGV[i + 2], 'cpu', ARGV[i + 3], 'mem', ARGV[i + 4], 'timeslice', ARGV[i + 5])
    end
    local firstAt = tonumber(redis.call('HGET', key, 'first_at') or '-1')
    if firstAt < 0 or tonumber(ARGV[i + 6]) < firstAt then redis.call('HSET', key, 'first_at', ARGV[i + 6]) end
    i = i + 7
  elseif op == 'E' then
    redis.call('EXPIREAT', key, ARGV[i + 2])
    i = i + 3
  elseif op == 'D' then
    -- A node forgotten by the latest-time set leaves the paging index with it.
    local old = redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[i + 3], 'LIMIT', 0, 500)
    if #old > 0 then
      redis.call('ZREM', key, unpack(old))
      redis.call('ZREM', KEYS[tonumber(ARGV[i + 2])], unpack(old))
    end
    i = i + 4
  elseif op == 'H' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
    i = i + 4
  elseif op == 'R' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[i + 2])
    i = i + 3
  else
    return redis.error_reply('apply-batch: unknown operation ' .. tostring(op))
  end
end

if part > 0 and part < parts then
  redis.call('HSET', markers, part, 1)
  redis.call('EXPIRE', markers, markerTtl)
  return { 3 }
end
if part > 0 then redis.call('DEL', markers) end
for first = 1, n, CHUNK do
  local args = { stream, group }
  for j = first, math.min(first + CHUNK - 1, n) do args[#args + 1] = ARGV[3 + j] end
  redis.call('XACK', unpack(args))
end
return { 2, n }
