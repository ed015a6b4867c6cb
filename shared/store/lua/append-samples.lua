#!lua
--[[
  append-samples: appends one request's entries (one per partition) and, when the request
  carries an Idempotency-Key, records its answer, all in one atomic step. A retry with the
  same key finds the record and appends nothing, even if the first answer was lost on the
  way back; a retry racing the first waits behind it in Redis.

  KEYS[1 .. n]  the partition streams written to
  KEYS[n+1 .. 2n]  their partitions' meta hashes (fields "partitions" and "paused")
  KEYS[2n + 1]  the idempotency record (only when ARGV[2] is not empty)
  ARGV[1]       n
  ARGV[2]       request fingerprint ('' without an Idempotency-Key)
  ARGV[3]       record time to live, seconds
  ARGV[4]       samples in the request
  ARGV[5]       request id, stored in each entry's field "r" so a lost reply can be settled
  ARGV[6]       the payload field name; ARGV[7 .. 6+n] the payloads
  ARGV[7+n]     the partition count the caller routed with (STREAM_PARTITIONS)

  Returns {'new', id1, .. idn}, {'replay', record}, {'conflict'} (same key, other request),
  {'paused'} (a partition count change is running) or {'recount', count} (the data now has
  another partition count: the caller must restart with it). Checked here, atomically with
  the append, so no entry is ever routed with a stale count.
]]
local n = tonumber(ARGV[1])
local fingerprint = ARGV[2]
local record = KEYS[2 * n + 1]

for i = 1, n do
  local guard = redis.call('HMGET', KEYS[n + i], 'partitions', 'paused')
  if guard[2] then return { 'paused' } end
  if guard[1] and guard[1] ~= ARGV[7 + n] then return { 'recount', guard[1] } end
end

if fingerprint ~= '' then
  local stored = redis.call('GET', record)
  if stored then
    if cjson.decode(stored).fingerprint ~= fingerprint then return { 'conflict' } end
    return { 'replay', stored }
  end
end

local ids = {}
for i = 1, n do
  ids[i] = redis.call('XADD', KEYS[i], '*', ARGV[6], ARGV[6 + i], 'r', ARGV[5])
end
if fingerprint ~= '' then
  redis.call('SET', record, cjson.encode({ fingerprint = fingerprint, ids = ids, accepted = tonumber(ARGV[4]) }), 'EX', ARGV[3])
end
local reply = { 'new' }
for i = 1, n do reply[i + 1] = ids[i] end
return reply
