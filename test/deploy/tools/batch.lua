-- wrk script of the resource measurement: POST /v1/samples with 100 node samples per request (100 node names per batch, 10,000 in all).
local counter = 0
local headers = { ["Content-Type"] = "application/x-ndjson" }

request = function()
  counter = counter + 1
  local lines = {}
  for i = 1, 100 do
    lines[i] = '{"node":"measure-' .. ((counter * 100 + i) % 10000) .. '","timeslice":10,"cpu":42.5,"mem":61}'
  end
  return wrk.format("POST", "/v1/samples", headers, table.concat(lines, "\n") .. "\n")
end
