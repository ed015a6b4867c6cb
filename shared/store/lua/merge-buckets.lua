#!lua
--[[
  merge-buckets: adds one partition's bucket hash into another partition's hash of the same
  name (when the partition count shrinks), exactly once: the marker key, in the target's
  hash slot, records that this source was merged, so a re-run after a crash merges nothing.
  Buckets merge with the bucket codec's mergeBucket, as in apply-batch.

  KEYS[1]  the target hash
  KEYS[2]  the marker for this source
  ARGV[1]  unix seconds at which the target may expire (0: no expiry)
  ARGV[2 ..]  field, value pairs of the source (stored buckets)

  Returns 1 when merged, 0 when this source had been merged before.
]]
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end

-- Every read and check before the first write.
local fields = {}
for i = 2, #ARGV, 2 do fields[#fields + 1] = ARGV[i] end
local stored = redis.call('HMGET', KEYS[1], unpack(fields))
for f, value in ipairs(stored) do
  if value and not bucketSizeOk(value, ARGV[2 * f + 1]) then
    return redis.error_reply('merge-buckets: ' .. KEYS[1] .. ' field ' .. fields[f] .. ' holds a bucket of ' .. #value .. ' bytes')
  end
end

local args = {}
for f = 1, #fields do
  local delta = ARGV[2 * f + 1]
  args[#args + 1] = fields[f]
  args[#args + 1] = stored[f] and mergeBucket(stored[f], delta) or delta
end
if #args > 0 then redis.call('HSET', KEYS[1], unpack(args)) end
redis.call('SET', KEYS[2], '1', 'EX', 604800)

if ARGV[1] ~= '0' then
  if redis.call('TTL', KEYS[1]) == -1 then
    redis.call('EXPIREAT', KEYS[1], ARGV[1])
  else
    redis.call('EXPIREAT', KEYS[1], ARGV[1], 'GT')
  end
end
return 1
