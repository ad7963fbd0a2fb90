-- POST /payguard/sessions keyed for asgi-idempotency-header (X-Aih-Key), a fresh key each time.
-- Seeded per run: wrk's Lua starts unseeded, and repeated keys or customers would turn into replays.
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
local run = math.random(1, 2000000000)
request = function()
  counter = counter + 1
  wrk.headers["X-Customer"] = "bench-" .. math.random(1, 2000000000)
  wrk.headers["X-Aih-Key"] = "aih-" .. run .. "-" .. counter
  local body = '{"bundleId":"bundle-' .. counter .. '","amount":4900,"currency":"USD"}'
  return wrk.format(nil, "/payguard/sessions", nil, body)
end
