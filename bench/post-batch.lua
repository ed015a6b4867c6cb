-- wrk script of the batch benchmark: POST /v1/samples with 1,000 NDJSON node samples, one per node name
-- (wrk-0 .. wrk-999), the load behind the Redis CPU per sample in batches (docs/BENCHMARKS.md).
local headers = { ["Content-Type"] = "application/x-ndjson" }
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
local lines = {}
for i = 0, 999 do
  lines[#lines + 1] = '{"node":"wrk-' .. i .. '","timeslice":10,"cpu":42.5,"mem":61}\n'
end
local body = table.concat(lines)

request = function()
  return wrk.format("POST", "/v1/samples", headers, body)
end
