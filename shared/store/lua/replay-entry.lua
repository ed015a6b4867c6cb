#!lua
--[[
  replay-entry: appends a dead-lettered entry's fields to its stream again, once. The
  marker key makes a retried replay (after a crash before the job was removed) a no-op.

  KEYS[1]  the partition stream
  KEYS[2]  the replay marker of the original entry (same hash tag)
  ARGV[1]  marker time to live, seconds
  ARGV[2..]  the entry's field/value pairs

  Returns the new entry id, or false when the entry was already replayed.
]]
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return false end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
return redis.call('XADD', KEYS[1], '*', unpack(fields))
