#!lua
--[[
  replay-entry: appends a dead-lettered entry's fields to its stream again, once, and only
  when its dead-lettering acknowledged it (acknowledge-dead-letter.lua's marker). The
  replay marker makes a retried replay (after a crash before the job was removed) a no-op.

  KEYS[1]  the partition stream
  KEYS[2]  the replay marker of the original entry (same hash tag)
  KEYS[3]  the entry's dead-letter marker (same hash tag)
  ARGV[1]  replay marker time to live, seconds
  ARGV[2]  consumer group
  ARGV[3]  the original entry id
  ARGV[4]  '1' when the letter requires the dead-letter marker; '0' for a letter written
           before markers existed, which is replayed as it was then
  ARGV[5..]  the entry's field/value pairs

  Returns {1, new entry id} when appended now, {0} when replayed before, {2} when the entry
  is still pending (its dead-lettering has not finished: keep the letter), {3} when it is
  acknowledged without a mark (a consumer applied it: the letter is stale).
]]
if redis.call('EXISTS', KEYS[2]) == 1 then return {0} end
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[3]) == 0 then
  -- Without its group nothing can settle the entry: keep the letter, lose nothing.
  local ok, pending = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[2], ARGV[3], ARGV[3], 1)
  if not ok or #pending > 0 then return {2} end
  return {3}
end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
redis.call('DEL', KEYS[3])
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
return {1, redis.call('XADD', KEYS[1], '*', unpack(fields))}
