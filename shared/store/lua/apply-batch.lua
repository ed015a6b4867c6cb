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
  checked first (a size read, which fails on another type): a key of the wrong type fails
  the call before it changes anything (a partial apply would count twice on redelivery).

  The aggregate keys are named in the records, not declared: they all carry the stream's
  hash tag, so they lie in its slot (which Redis Cluster allows a script to touch), and the
  script neither converts an index per record nor receives every name twice. The records
  are built so that the script converts few numbers from text (tonumber costs more than
  most commands): counts only; buckets and node summaries are binary (the codecs above).

  KEYS[1]    the partition stream
  KEYS[2]    the part markers of the entry (used only when applying parts)
  ARGV[1]    consumer group
  ARGV[2]    consumer name (unused: whichever consumer holds an entry, the first apply counts)
  ARGV[3]    n, the number of entry ids
  ARGV[4 .. 3+n]  the entry ids, in stream order
  ARGV[4+n]  part p (1-based), or 0 for whole entries
  ARGV[5+n]  part count c (0 for whole entries)
  ARGV[6+n]  seconds the part markers live
  ARGV[7+n]  the sharded channel told, once the entries are acknowledged, that they were
             applied ('' for none): in the script, so the hint costs Redis no round trip
  ARGV[8+n ..]  eight sections, each a count followed by its records:
    checks        key type                                    keys only written: must be missing or of type
                                                             (zset or hash)
    bucket keys   key expireAt m, then m pairs: field delta   merge stored buckets (bucket codec); EXPIREAT
                                                             when the hash has no expiry record yet
    summaries     key m, then m pairs: node delta             merge each node's summary in the hash
                                                             (summary codec)
    latest        key names m, then m pairs: score member    ZADD GT (the pairs in ZADD's order, passed
                                                             on as they are); when a ZADD adds members,
                                                             its members also join zset names ('' for
                                                             none) with NX, score 0
    expiries      key unixSeconds always                      EXPIREAT; always 0: only on a key this call
                                                             creates (its check found it missing)
    prunes        key maxScore                                drop members whose score <= maxScore
    node prunes   key names summaries maxScore                like prunes (up to 500 a call), also from
                                                             names and from the summary hash
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
local part, parts, markerTtl, appliedChannel = tonumber(ARGV[4 + n]), tonumber(ARGV[5 + n]), ARGV[6 + n], ARGV[7 + n]
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

-- Reads: the type checks, the stored buckets and summaries.
local i = 8 + n
local function section(width)
  local count = tonumber(ARGV[i])
  local first = i + 1
  i = first + count * width
  return first, count
end

-- A size read fails on a key of another type and answers a bare integer (TYPE's reply
-- becomes a Lua table, which costs more).
local SIZE_OF = { zset = 'ZCARD', hash = 'HLEN' }
local checksAt, checkCount = section(2)
-- Checked keys that do not exist yet (size 0): this call creates them.
local missing = {}
for r = checksAt, checksAt + 2 * (checkCount - 1), 2 do
  local key, expected = ARGV[r], ARGV[r + 1]
  local size = redis.pcall(SIZE_OF[expected], key)
  if type(size) == 'table' then
    local actual = redis.call('TYPE', key)['ok']
    return redis.error_reply('WRONGTYPE apply-batch: ' .. key .. ' is a ' .. actual .. ', expected a ' .. expected)
  end
  if size == 0 then missing[key] = true end
end

-- Per bucket key: where its record starts, its bucket count, HMGET's reply (expiry record
-- first). A minute's node hash takes thousands of fields in one apply: they are read and
-- written CHUNK at a time (unpack has a limit).
local bucketAt, bucketCount, bucketStored = {}, {}, {}
local bucketKeys = tonumber(ARGV[i])
i = i + 1
for k = 1, bucketKeys do
  local key, m = ARGV[i], tonumber(ARGV[i + 2])
  local stored
  if m == 1 then
    stored = redis.call('HMGET', key, BUCKET_EXPIRY_FIELD, ARGV[i + 3])
  else
    -- stored[1] is the expiry record (asked in the first chunk), stored[f + 1] bucket f.
    -- Tables fill through a counter: `#t + 1` searches for the end every time.
    stored = {}
    for from = 1, m, CHUNK do
      local fields, count = {}, 0
      if from == 1 then fields[1], count = BUCKET_EXPIRY_FIELD, 1 end
      for f = from, math.min(from + CHUNK - 1, m) do
        count = count + 1
        fields[count] = ARGV[i + 1 + 2 * f]
      end
      local values = redis.call('HMGET', key, unpack(fields, 1, count))
      if from == 1 then
        stored = values
      else
        for j = 1, count do stored[from + j] = values[j] end
      end
    end
  end
  for f = 1, m do
    local value = stored[f + 1]
    if value and not bucketSizeOk(value, ARGV[i + 2 + 2 * f]) then
      return redis.error_reply('apply-batch: ' .. key .. ' holds a bucket of ' .. #value .. ' bytes')
    end
  end
  bucketAt[k], bucketCount[k], bucketStored[k] = i, m, stored
  i = i + 3 + 2 * m
end

-- Per summary hash: where its record starts, its node count, HMGET's reply (in chunks).
local summaryAt, summaryNodes, summaryStored = {}, {}, {}
local summaryKeys = tonumber(ARGV[i])
i = i + 1
for k = 1, summaryKeys do
  local key, m = ARGV[i], tonumber(ARGV[i + 1])
  local stored = {}
  for from = 1, m, CHUNK do
    local nodes, count = {}, 0
    for j = from, math.min(from + CHUNK - 1, m) do
      count = count + 1
      nodes[count] = ARGV[i + 2 * j]
    end
    local values = redis.call('HMGET', key, unpack(nodes, 1, count))
    for j = 1, count do
      local value = values[j]
      if value and not nodeSummarySizeOk(value) then
        return redis.error_reply('apply-batch: ' .. key .. ' holds a summary of ' .. #value .. ' bytes for ' .. nodes[j])
      end
    end
    if from == 1 then
      stored = values
    else
      for j = 1, count do stored[from + j - 1] = values[j] end
    end
  end
  summaryAt[k], summaryNodes[k], summaryStored[k] = i, m, stored
  i = i + 2 + 2 * m
end

local latestAt = i
local latestCount = tonumber(ARGV[i])
i = i + 1
for _ = 1, latestCount do i = i + 3 + 2 * tonumber(ARGV[i + 2]) end
local expiriesAt, expiryCount = section(3)
local prunesAt, pruneCount = section(2)
local nodePrunesAt, nodePruneCount = section(4)
local fieldsAt, fieldCount = section(3)

-- Writes.
for k = 1, bucketKeys do
  local at, m, stored = bucketAt[k], bucketCount[k], bucketStored[k]
  local key = ARGV[at]
  -- A hash's expiry is fixed by its chunk: set once, when the hash is created.
  local created = not stored[1]
  if m == 1 then
    local delta = ARGV[at + 4]
    local current = stored[2]
    local value = current and mergeBucket(current, delta) or delta
    if created then
      redis.call('HSET', key, ARGV[at + 3], value, BUCKET_EXPIRY_FIELD, ARGV[at + 1])
    else
      redis.call('HSET', key, ARGV[at + 3], value)
    end
  else
    for from = 1, m, CHUNK do
      local args, count = {}, 0
      if created and from == 1 then args[1], args[2], count = BUCKET_EXPIRY_FIELD, ARGV[at + 1], 2 end
      for f = from, math.min(from + CHUNK - 1, m) do
        local delta = ARGV[at + 2 + 2 * f]
        local current = stored[f + 1]
        args[count + 1] = ARGV[at + 1 + 2 * f]
        args[count + 2] = current and mergeBucket(current, delta) or delta
        count = count + 2
      end
      redis.call('HSET', key, unpack(args, 1, count))
    end
  end
  if created then redis.call('EXPIREAT', key, ARGV[at + 1]) end
end

-- SUMMARY_HASH_MARKER (summary codec) keeps the summary hash a hash table.
for k = 1, summaryKeys do
  local at, m, stored = summaryAt[k], summaryNodes[k], summaryStored[k]
  for from = 1, m, CHUNK do
    local pairs, count = {}, 0
    if from == 1 then pairs[1], pairs[2], count = '', SUMMARY_HASH_MARKER, 2 end
    for j = from, math.min(from + CHUNK - 1, m) do
      local delta = ARGV[at + 2 * j + 1]
      pairs[count + 1] = ARGV[at + 2 * j]
      pairs[count + 2] = stored[j] and mergeNodeSummary(stored[j], delta) or delta
      count = count + 2
    end
    redis.call('HSET', ARGV[at], unpack(pairs, 1, count))
  end
end

-- One ZADD per sorted set and LATEST_CHUNK members, not one per member: each redis.call
-- costs microseconds of its own; the pairs go from ARGV as they are. A member joins the
-- name index when it joins the set (both leave together, in the node prunes below), so
-- the index is written only when the ZADD answers that it added members: new ones join
-- with score 0 (NX), known ones are left as they are.
local LATEST_CHUNK = 500
local record = latestAt + 1
for _ = 1, latestCount do
  local key, names, m = ARGV[record], ARGV[record + 1], tonumber(ARGV[record + 2])
  local first = record + 3
  record = first + 2 * m
  for from = first, record - 1, 2 * LATEST_CHUNK do
    local to = math.min(from + 2 * LATEST_CHUNK, record) - 1
    local added = redis.call('ZADD', key, 'GT', unpack(ARGV, from, to))
    if names ~= '' and added > 0 then
      local named, count = { 'NX' }, 1
      for p = from, to, 2 do
        named[count + 1] = '0'
        named[count + 2] = ARGV[p + 1]
        count = count + 2
      end
      redis.call('ZADD', names, unpack(named, 1, count))
    end
  end
end

for q = expiriesAt, expiriesAt + 3 * (expiryCount - 1), 3 do
  if ARGV[q + 2] == '1' or missing[ARGV[q]] then redis.call('EXPIREAT', ARGV[q], ARGV[q + 1]) end
end

for q = prunesAt, prunesAt + 2 * (pruneCount - 1), 2 do redis.call('ZREMRANGEBYSCORE', ARGV[q], '-inf', ARGV[q + 1]) end

for q = nodePrunesAt, nodePrunesAt + 4 * (nodePruneCount - 1), 4 do
  -- A node forgotten by the latest-time set leaves the paging index and the summaries with it.
  local old = redis.call('ZRANGEBYSCORE', ARGV[q], '-inf', ARGV[q + 3], 'LIMIT', 0, 500)
  if #old > 0 then
    redis.call('ZREM', ARGV[q], unpack(old))
    redis.call('ZREM', ARGV[q + 1], unpack(old))
    redis.call('HDEL', ARGV[q + 2], unpack(old))
  end
end

for q = fieldsAt, fieldsAt + 3 * (fieldCount - 1), 3 do redis.call('HSET', ARGV[q], ARGV[q + 1], ARGV[q + 2]) end

if part > 0 and part < parts then
  redis.call('HSET', markers, part, 1)
  redis.call('EXPIRE', markers, markerTtl)
  return { 3 }
end
if part > 0 then redis.call('DEL', markers) end
for first = 4, 3 + n, CHUNK do
  redis.call('XACK', stream, group, unpack(ARGV, first, math.min(first + CHUNK - 1, 3 + n)))
end
-- pcall: a user without access to the channel still applies (the hint is never needed); the
-- writes above are done, and an error now would only make the caller apply again.
if appliedChannel ~= '' then redis.pcall('SPUBLISH', appliedChannel, '') end
return { 2, n }
