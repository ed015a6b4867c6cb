#!lua
--[[
  append-samples: appends the samples of a group of requests, one entry per partition
  holding every request's lines, and writes each keyed request's idempotency records, all
  in one atomic step. Works for any set of partitions: standalone Redis takes every
  partition of a group in one call; a cluster can call it once per partition (one slot).

  A keyed request (one with an Idempotency-Key) has one record per partition it writes to,
  in that partition's slot: "<fingerprint> <accepted> <entry id>". Where its record exists
  with its fingerprint, its lines are already stored and are not appended again (a retry,
  even after a lost reply or a partial failure); where a record holds another fingerprint,
  the request is a conflict and appends nothing anywhere.

  KEYS[1 .. n]        the partition streams written to
  KEYS[n+1 .. 2n]     their partitions' meta hashes (fields "partitions" and "paused")
  KEYS[2n+1 ..]       the records of the keyed requests, in request order, one per part
  ARGV[1]             the partition count the caller routed with (STREAM_PARTITIONS)
  ARGV[2]             n
  ARGV[3]             the group id, stored in each entry so a lost reply can be settled
  ARGV[4], ARGV[5]    the payload's and the group id's field names
  ARGV[6]             requests in the call; then per request:
                        fingerprint ('' without an Idempotency-Key), record time to live (s),
                        samples accepted, k parts, then k pairs (stream index 1..n, lines)

  Replies {1} (a partition count change is running), {2, count} (the data now has another
  partition count: the caller must restart with it), or {0, id_1 .. id_n, outcomes} where
  id_i is the entry appended to stream i ('' when nothing was) and outcomes holds, per keyed
  request: 0 (appended), 2 (conflict), or 1 (stored before, at least in part), accepted
  and its k entry ids. A record found is written again unchanged (same value, same expiry),
  so that a WAIT after a replay covers what the first attempt stored.
]]
local n = tonumber(ARGV[2])

for i = 1, n do
  local guard = redis.call('HMGET', KEYS[n + i], 'partitions', 'paused')
  if guard[2] then return { 1 } end
  if guard[1] and guard[1] ~= ARGV[1] then return { 2, guard[1] } end
end

local lines = {}
for i = 1, n do lines[i] = {} end
local keyed = {}
local arg = 7
local record = 2 * n + 1
for _ = 1, tonumber(ARGV[6]) do
  local fingerprint, ttl, accepted, k = ARGV[arg], ARGV[arg + 1], ARGV[arg + 2], tonumber(ARGV[arg + 3])
  local first = arg + 4
  arg = first + 2 * k
  if fingerprint == '' then
    for q = 0, k - 1 do
      local part = lines[tonumber(ARGV[first + 2 * q])]
      part[#part + 1] = ARGV[first + 2 * q + 1]
    end
  else
    local request = { fingerprint = fingerprint, ttl = ttl, accepted = accepted, first = first, k = k, record = record, code = 0, stored = {}, records = {} }
    keyed[#keyed + 1] = request
    for q = 0, k - 1 do
      local stored = redis.call('GET', KEYS[record + q])
      if stored then
        local storedFingerprint, storedAccepted, id = string.match(stored, '^(%S+) (%d+) (%S+)$')
        if storedFingerprint ~= fingerprint then
          request.code = 2
          break
        end
        request.code = 1
        request.accepted = storedAccepted
        request.stored[q] = id
        request.records[q] = stored
      end
    end
    if request.code ~= 2 then
      for q = 0, k - 1 do
        if not request.stored[q] then
          local part = lines[tonumber(ARGV[first + 2 * q])]
          part[#part + 1] = ARGV[first + 2 * q + 1]
        end
      end
    end
    record = record + k
  end
end

local reply = { 0 }
for i = 1, n do
  -- One part (the unkeyed requests' lines, joined by the caller) goes in as it came: a
  -- concatenation would copy it.
  if #lines[i] == 1 then
    reply[i + 1] = redis.call('XADD', KEYS[i], '*', ARGV[4], lines[i][1], ARGV[5], ARGV[3])
  elseif #lines[i] > 1 then
    reply[i + 1] = redis.call('XADD', KEYS[i], '*', ARGV[4], table.concat(lines[i], '\n'), ARGV[5], ARGV[3])
  else
    reply[i + 1] = ''
  end
end

for _, request in ipairs(keyed) do
  reply[#reply + 1] = request.code
  if request.code ~= 2 then
    if request.code == 1 then reply[#reply + 1] = request.accepted end
    for q = 0, request.k - 1 do
      local id = request.stored[q]
      if not id then
        id = reply[tonumber(ARGV[request.first + 2 * q]) + 1]
        redis.call('SET', KEYS[request.record + q], request.fingerprint .. ' ' .. request.accepted .. ' ' .. id, 'EX', request.ttl)
      else
        -- Rewritten unchanged: since Redis 7.2 WAIT covers only writes of its own connection,
        -- so a replay must write for a WAIT after it to cover the first attempt's lines.
        redis.call('SET', KEYS[request.record + q], request.records[q], 'KEEPTTL')
      end
      if request.code == 1 then reply[#reply + 1] = id end
    end
  end
end
return reply
