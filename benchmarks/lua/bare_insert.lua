-- POST /bare/rows: one INSERT and COMMIT per request.
wrk.method = "POST"
request = function()
  return wrk.format(nil, "/bare/rows")
end
