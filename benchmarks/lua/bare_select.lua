-- GET /bare/rows/{id}: cycle through rows inserted before the run.
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
  ids[#ids + 1] = line
end
local i = math.random(1, #ids)
request = function()
  i = i % #ids + 1
  return wrk.format("GET", "/bare/rows/" .. ids[i])
end
