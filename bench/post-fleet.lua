-- wrk script of the end-to-end batch benchmark: POST /v1/samples with the synthetic fleet's
-- 1,000-sample JSON bodies (a node sample and its process samples per node), read from the
-- file BENCH_BODIES (one body per line) and sent in turn. A C client, as the baseline's
-- redis-benchmark is: the load generator should take as little of the shared cores as it can.
local headers = { ["Content-Type"] = "application/json" }
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do
  bodies[#bodies + 1] = line
end
if #bodies == 0 then
  error("BENCH_BODIES holds no bodies")
end
local next_body = 0

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/v1/samples", headers, bodies[next_body])
end
