#!lua
--[[
  merge-buckets: adds one partition's bucket hash into another partition's hash of the same
  name (when the partition count shrinks), exactly once: the marker key, in the target's
  hash slot, records that this source was merged, so a re-run after a crash merges nothing.

  KEYS[1]  the target hash
  KEYS[2]  the marker for this source
  ARGV[1]  unix seconds at which the target may expire (0: no expiry)
  ARGV[2 ..]  field, value pairs of the source ("cs,ms,s,n,lo,tmax[,cmin,cmax,mmin,mmax]")

  Returns 1 when merged, 0 when this source had been merged before.
]]
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', 604800) then return 0 end

local function parse(packed)
  local values = {}
  for part in string.gmatch(packed, '[^,]+') do values[#values + 1] = tonumber(part) end
  return values
end

-- Sums add, lo and minima take the least, tmax and maxima the greatest (as apply-batch).
for i = 2, #ARGV, 2 do
  local field, delta = ARGV[i], parse(ARGV[i + 1])
  local current = redis.call('HGET', KEYS[1], field)
  if current then
    local c = parse(current)
    for j = 1, 4 do delta[j] = delta[j] + c[j] end
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
  for j = 1, #delta do out[j] = string.format('%.17g', delta[j]) end
  redis.call('HSET', KEYS[1], field, table.concat(out, ','))
end

if ARGV[1] ~= '0' then
  if redis.call('TTL', KEYS[1]) == -1 then
    redis.call('EXPIREAT', KEYS[1], ARGV[1])
  else
    redis.call('EXPIREAT', KEYS[1], ARGV[1], 'GT')
  end
end
return 1
