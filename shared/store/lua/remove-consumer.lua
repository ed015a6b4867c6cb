#!lua flags=allow-oom
--[[
  remove-consumer: deletes a consumer from the group only when that is safe, in one atomic
  step, so no entry can be delivered to it between the check and the delete.

  KEYS[1]  the partition stream
  KEYS[2]  the consumer's heartbeat key (same partition hash tag)
  ARGV[1]  consumer group
  ARGV[2]  consumer name
  ARGV[3]  'expired' (the janitor: only when its heartbeat has expired) or 'leaving' (the
           consumer itself on shutdown)

  Returns 1 when deleted, 0 when it holds pending entries, -1 when its heartbeat is alive.
  allow-oom: it only frees memory, so it must also run when Redis is out of memory.
]]
local stream, heartbeat, group, consumer, mode = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
if mode == 'expired' and redis.call('EXISTS', heartbeat) == 1 then return -1 end
local pending = redis.call('XPENDING', stream, group, '-', '+', 1, consumer)
if #pending > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', stream, group, consumer)
redis.call('DEL', heartbeat)
return 1
