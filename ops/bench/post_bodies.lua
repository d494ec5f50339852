-- post_bodies.lua — wrk script: POSTs to $LH_BENCH_PATH, rotating through
-- the JSON bodies of $LH_BENCH_BODIES (one per line). Requests are
-- formatted once per thread, not per request: wrk shares the cores with
-- the stack it measures.
local threads = 0

function setup(thread)
  thread:set("offset", threads * 7919) -- threads start at different bodies
  threads = threads + 1
end

local requests = {}
local next_request = 0

function init(args)
  local path = os.getenv("LH_BENCH_BODIES")
  local target = os.getenv("LH_BENCH_PATH")
  local headers = { ["Content-Type"] = "application/json" }
  for body in io.lines(path) do
    requests[#requests + 1] = wrk.format("POST", target, headers, body)
  end
  assert(#requests > 0, "no bodies in " .. tostring(path))
  next_request = (offset or 0) % #requests
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
