-- redis_drain.lua: one batch of what Logstash's redis input does with a
-- list when batch_count > 1 (logstash-input-redis, list_batch_listener):
-- take up to ARGV[1] + 1 entries from the head of the list and trim them
-- off, atomically. Called in a loop (EVAL ... 1 KEY 124 for Logstash's
-- default batch_count of 125) until it returns nothing.
local batchsize = tonumber(ARGV[1])
local result = redis.call('lrange', KEYS[1], 0, batchsize)
redis.call('ltrim', KEYS[1], batchsize + 1, -1)
return result
