-- wrk script of the single-sample benchmark: one node sample per request, spread over 1,000 node names.
-- The same script drives the service and the bare Koa baseline, so both see identical requests.
local counter = 0
-- BENCH_TOKEN (when set) is sent as a bearer token, as every real client does.
local headers = { ["Content-Type"] = "application/json" }
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
local body = '{"timeslice":10,"cpu":42.5,"mem":61}'

request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/metrics/node/wrk-" .. (counter % 1000), headers, body)
end
