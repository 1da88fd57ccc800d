-- wrk script for bench/overhead.sh: a realistic non-stream chat request; each request
-- starts its own conversation (X-Conversation-Id), as independent users would.
local n = 0
local body = '{"model":"' .. (os.getenv("MODEL") or "fake-mini") ..
  '","messages":[{"role":"user","content":"Explain the difference between a mutex and a semaphore."}]}'
local key = os.getenv("KEY") or "x"
request = function()
  n = n + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["X-Conversation-Id"] = "bench-" .. n,
  }, body)
end
