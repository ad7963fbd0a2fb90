-- GET /payguard/sessions/{id}: cycle through sessions created before the run (id,customer per line).
local sessions = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  local id, customer = line:match("([^,]+),([^,]+)")
  sessions[#sessions + 1] = { id, customer }
end
local i = math.random(1, #sessions)
request = function()
  i = i % #sessions + 1
  local session = sessions[i]
  return wrk.format("GET", "/payguard/sessions/" .. session[1], { ["X-Customer"] = session[2] })
end
