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

  Every read comes before the first write, and the keys that are only written are
  checked with TYPE first: a key of the wrong type fails the call before it changes
  anything (a partial apply would count twice on redelivery).

  KEYS[1]    the partition stream
  KEYS[2]    the part markers of the entry (used only when applying parts)
  KEYS[3..]  aggregate keys referenced by the sections (all in the stream's hash slot)
  ARGV[1]    consumer group
  ARGV[2]    consumer name (unused: whichever consumer holds an entry, the first apply counts)
  ARGV[3]    n, the number of entry ids
  ARGV[4 .. 3+n]  the entry ids, in stream order
  ARGV[4+n]  part p (1-based), or 0 for whole entries
  ARGV[5+n]  part count c (0 for whole entries)
  ARGV[6+n]  seconds the part markers live
  ARGV[7+n ..]  seven sections, each a count followed by its records (key = index into KEYS):
    bucket keys   key expireAt m, then m pairs: field delta   merge stored buckets (bucket codec); EXPIREAT
                                                             when the hash has no expiry record yet
    summaries     key at cpu mem timeslice firstAt expireAt   a node's latest sample and first seen;
                                                             EXPIREAT when expireAt passes the recorded one
    latest        key member score names                      ZADD GT, one call per key; a member new to it
                                                             also joins zset KEYS[names] (0: none), score 0
    expiries      key unixSeconds                             EXPIREAT
    prunes        key maxScore                                drop members whose score <= maxScore
    node prunes   key names maxScore                          like prunes (up to 500 a call), also from KEYS[names]
    fields        key field value                             HSET (bookkeeping such as last applied time)

  Returns {2, n} when applied and acknowledged; {0} when no entry was pending (nothing
  done); {1, id...} when only those ids are still pending (nothing done: the caller folds
  just those and calls again); for a part that is not the last, {3} when the part was
  applied now and {4} when an earlier delivery had applied it (nothing done).
]]
-- The "#!lua" line makes Redis 7 refuse the whole script up front when it is out of
-- memory, instead of failing on a write halfway through.
local stream, group = KEYS[1], ARGV[1]
local n = tonumber(ARGV[3])
local part, parts, markerTtl = tonumber(ARGV[4 + n]), tonumber(ARGV[5 + n]), ARGV[6 + n]
local CHUNK = 1000
local PAGE = 1000

-- Which ids are still pending (on any consumer)? A read: XPENDING over the ids' range, which
-- the caller passes in stream order, page by page (other consumers' entries may lie in between).
local wanted = {}
for j = 1, n do wanted[ARGV[3 + j]] = true end
local pendingNow = {}
local from, found = ARGV[4], 0
while found < n do
  local rows = redis.call('XPENDING', stream, group, from, ARGV[3 + n], PAGE)
  for _, row in ipairs(rows) do
    if wanted[row[1]] then
      pendingNow[row[1]] = true
      found = found + 1
    end
  end
  if #rows < PAGE then break end
  from = '(' .. rows[#rows][1]
end
local stillPending = {}
for j = 1, n do
  if pendingNow[ARGV[3 + j]] then stillPending[#stillPending + 1] = ARGV[3 + j] end
end
if #stillPending == 0 then return { 0 } end
if #stillPending < n then
  table.insert(stillPending, 1, 1)
  return stillPending
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

-- Reads: every section's records, the stored buckets and summaries, key types.
local i = 7 + n
local function section(width)
  local count = tonumber(ARGV[i])
  local first = i + 1
  i = first + count * width
  return first, count
end

local bucketKeys = {}
do
  local count = tonumber(ARGV[i])
  i = i + 1
  for k = 1, count do
    local m = tonumber(ARGV[i + 2])
    local fields = {}
    for f = 1, m do fields[f] = ARGV[i + 1 + 2 * f] end
    local stored = redis.call('HMGET', KEYS[tonumber(ARGV[i])], BUCKET_EXPIRY_FIELD, unpack(fields))
    bucketKeys[k] = { at = i, m = m, stored = stored }
    for f = 1, m do
      local value = stored[f + 1]
      if value and not bucketSizeOk(value, ARGV[i + 2 + 2 * f]) then
        return redis.error_reply('apply-batch: ' .. KEYS[tonumber(ARGV[i])] .. ' holds a bucket of ' .. #value .. ' bytes')
      end
    end
    i = i + 3 + 2 * m
  end
end

local summariesAt, summaryCount = section(7)
local summaries = {}
for s = 0, summaryCount - 1 do
  local r = summariesAt + 7 * s
  summaries[s + 1] = redis.call('HMGET', KEYS[tonumber(ARGV[r])], 'last_at', 'first_at', 'expires_at')
end

local latestAt, latestCount = section(4)
local expiriesAt, expiryCount = section(2)
local prunesAt, pruneCount = section(2)
local nodePrunesAt, nodePruneCount = section(3)
local fieldsAt, fieldCount = section(3)

-- Keys that are only written: check each one's type once.
local checked = {}
local function wrongType(index, expected)
  if index == 0 or checked[index] then return nil end
  checked[index] = true
  local actual = redis.call('TYPE', KEYS[index])['ok']
  if actual ~= 'none' and actual ~= expected then
    return 'WRONGTYPE apply-batch: ' .. KEYS[index] .. ' is a ' .. actual .. ', expected a ' .. expected
  end
  return nil
end
local function check(first, count, width, offsets, expected)
  for r = first, first + width * (count - 1), width do
    for _, offset in ipairs(offsets) do
      local failure = wrongType(tonumber(ARGV[r + offset]), expected)
      if failure then return failure end
    end
  end
  return nil
end
local failure = check(latestAt, latestCount, 4, { 0, 3 }, 'zset')
  or check(expiriesAt, expiryCount, 2, { 0 }, 'zset')
  or check(prunesAt, pruneCount, 2, { 0 }, 'zset')
  or check(nodePrunesAt, nodePruneCount, 3, { 0, 1 }, 'zset')
  or check(fieldsAt, fieldCount, 3, { 0 }, 'hash')
if failure then return redis.error_reply(failure) end

-- Writes.
for _, b in ipairs(bucketKeys) do
  local at, stored = b.at, b.stored
  local key = KEYS[tonumber(ARGV[at])]
  local args = {}
  for f = 1, b.m do
    local delta = ARGV[at + 2 + 2 * f]
    local current = stored[f + 1]
    args[2 * f - 1] = ARGV[at + 1 + 2 * f]
    args[2 * f] = current and mergeBucket(current, delta) or delta
  end
  -- A hash's expiry is fixed by its chunk: set once, when the hash is created.
  local created = not stored[1]
  if created then
    args[#args + 1] = BUCKET_EXPIRY_FIELD
    args[#args + 1] = ARGV[at + 1]
  end
  redis.call('HSET', key, unpack(args))
  if created then redis.call('EXPIREAT', key, ARGV[at + 1]) end
end

for s = 0, summaryCount - 1 do
  local r = summariesAt + 7 * s
  local key = KEYS[tonumber(ARGV[r])]
  local current = summaries[s + 1]
  local args = {}
  if tonumber(ARGV[r + 1]) >= tonumber(current[1] or '-1') then
    args = { 'last_at', ARGV[r + 1], 'cpu', ARGV[r + 2], 'mem', ARGV[r + 3], 'timeslice', ARGV[r + 4] }
  end
  if current[2] == false or tonumber(ARGV[r + 5]) < tonumber(current[2]) then
    args[#args + 1] = 'first_at'
    args[#args + 1] = ARGV[r + 5]
  end
  local expireAt = ARGV[r + 6]
  local moved = current[3] == false or tonumber(expireAt) > tonumber(current[3])
  if moved then
    args[#args + 1] = 'expires_at'
    args[#args + 1] = expireAt
  end
  if #args > 0 then redis.call('HSET', key, unpack(args)) end
  if moved then redis.call('EXPIREAT', key, expireAt) end
end

-- One ZADD per sorted set and LATEST_CHUNK members, not one per member: each redis.call
-- costs microseconds of its own. A set with a name index first asks which members are new.
local LATEST_CHUNK = 500
local latestByKey, latestKeys = {}, {}
for r = latestAt, latestAt + 4 * (latestCount - 1), 4 do
  local index = ARGV[r]
  local group = latestByKey[index]
  if not group then
    group = { names = tonumber(ARGV[r + 3]), records = {} }
    latestByKey[index] = group
    latestKeys[#latestKeys + 1] = index
  end
  group.records[#group.records + 1] = r
end
for _, index in ipairs(latestKeys) do
  local key, group = KEYS[tonumber(index)], latestByKey[index]
  local records = group.records
  for first = 1, #records, LATEST_CHUNK do
    local last = math.min(first + LATEST_CHUNK - 1, #records)
    local members, pairs = {}, { 'GT' }
    for j = first, last do
      local r = records[j]
      members[#members + 1] = ARGV[r + 1]
      pairs[#pairs + 1] = ARGV[r + 2]
      pairs[#pairs + 1] = ARGV[r + 1]
    end
    local known = group.names > 0 and redis.call('ZMSCORE', key, unpack(members)) or nil
    redis.call('ZADD', key, unpack(pairs))
    if known then
      local added = {}
      for j, member in ipairs(members) do
        if not known[j] then
          added[#added + 1] = 0
          added[#added + 1] = member
        end
      end
      if #added > 0 then redis.call('ZADD', KEYS[group.names], unpack(added)) end
    end
  end
end

for r = expiriesAt, expiriesAt + 2 * (expiryCount - 1), 2 do redis.call('EXPIREAT', KEYS[tonumber(ARGV[r])], ARGV[r + 1]) end

for r = prunesAt, prunesAt + 2 * (pruneCount - 1), 2 do redis.call('ZREMRANGEBYSCORE', KEYS[tonumber(ARGV[r])], '-inf', ARGV[r + 1]) end

for r = nodePrunesAt, nodePrunesAt + 3 * (nodePruneCount - 1), 3 do
  -- A node forgotten by the latest-time set leaves the paging index with it.
  local key = KEYS[tonumber(ARGV[r])]
  local old = redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[r + 2], 'LIMIT', 0, 500)
  if #old > 0 then
    redis.call('ZREM', key, unpack(old))
    redis.call('ZREM', KEYS[tonumber(ARGV[r + 1])], unpack(old))
  end
end

for r = fieldsAt, fieldsAt + 3 * (fieldCount - 1), 3 do redis.call('HSET', KEYS[tonumber(ARGV[r])], ARGV[r + 1], ARGV[r + 2]) end

if part > 0 and part < parts then
  redis.call('HSET', markers, part, 1)
  redis.call('EXPIRE', markers, markerTtl)
  return { 3 }
end
if part > 0 then redis.call('DEL', markers) end
for first = 4, 3 + n, CHUNK do
  redis.call('XACK', stream, group, unpack(ARGV, first, math.min(first + CHUNK - 1, 3 + n)))
end
return { 2, n }
