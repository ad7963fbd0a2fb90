-- POST /payguard/sessions (or BENCH_PATH, the same body elsewhere): a new customer and bundle per request.
-- Seeded per run: wrk's Lua starts unseeded, and repeated keys or customers would turn into replays.
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
local path = os.getenv("BENCH_PATH") or "/payguard/sessions"
request = function()
  counter = counter + 1
  wrk.headers["X-Customer"] = "bench-" .. math.random(1, 2000000000)
  local body = '{"bundleId":"bundle-' .. counter .. '","amount":4900,"currency":"USD"}'
  return wrk.format(nil, path, nil, body)
end
