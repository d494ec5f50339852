-- post_vector.lua — wrk script: POST /v1/vectors/search, rotating through
-- the query bodies lh-bench-vector wrote (one JSON body per line; the file
-- is named by $LH_BENCH_BODIES), so the gateway answers the same queries
-- as the bus. Requests are formatted once per thread, not per request:
-- wrk shares the cores with the gateway it measures.
local threads = 0

function setup(thread)
  thread:set("offset", threads * 7919) -- threads start at different queries
  threads = threads + 1
end

local requests = {}
local next_request = 0

function init(args)
  local path = os.getenv("LH_BENCH_BODIES")
  local headers = { ["Content-Type"] = "application/json" }
  for body in io.lines(path) do
    requests[#requests + 1] = wrk.format("POST", "/v1/vectors/search", headers, body)
  end
  assert(#requests > 0, "no query bodies in " .. tostring(path))
  next_request = (offset or 0) % #requests
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
