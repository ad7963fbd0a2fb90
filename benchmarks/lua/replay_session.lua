-- POST /payguard/sessions again with keys whose requests completed before the run: every answer is a replay.
-- BENCH_IDS lines: session id, customer, bundle, key.
local seeded = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  local _, customer, bundle, key = line:match("([^,]+),([^,]+),([^,]+),([^,]+)")
  seeded[#seeded + 1] = { customer, bundle, key }
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local i = math.random(1, #seeded)
request = function()
  i = i % #seeded + 1
  local entry = seeded[i]
  local body = '{"bundleId":"' .. entry[2] .. '","amount":4900,"currency":"USD"}'
  return wrk.format(nil, "/payguard/sessions", { ["X-Customer"] = entry[1], ["Idempotency-Key"] = entry[3] }, body)
end
