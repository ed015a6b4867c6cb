#!lua
--[[
  acknowledge-dead-letter: acknowledges a dead-lettered entry and marks it dead-lettered,
  in one step and only if it was still pending. A replay appends only marked entries
  (replay-entry.lua): an entry another consumer applied first is never counted twice.
  The meta hash's field changes the key every apply transaction watches, so an apply that
  read the entry as pending before does not apply it too (transaction-apply.ts).

  KEYS[1]  the partition stream
  KEYS[2]  the partition's meta hash
  KEYS[3]  the entry's dead-letter marker (same hash tag)
  ARGV[1]  consumer group
  ARGV[2]  entry id
  ARGV[3]  now, ms

  Returns 1 when acknowledged and marked now, 2 when another consumer dead-lettered it
  first, 0 when it was acknowledged without a mark: a consumer applied it.
]]
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('SET', KEYS[3], ARGV[3])
  redis.call('HSET', KEYS[2], 'last_unapplied_ack_ms', ARGV[3])
  return 1
end
if redis.call('EXISTS', KEYS[3]) == 1 then return 2 end
return 0
