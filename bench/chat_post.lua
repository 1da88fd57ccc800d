-- wrk script for bench/overhead.sh and bench/compare.py: a realistic non-stream chat
-- request; each request starts its own conversation (X-Conversation-Id), as
-- independent users would: the ids carry a random prefix per wrk run, so that a later
-- run against the same gateway does not continue the earlier run's conversations (the
-- same question again would be a rephrase, with an implicit rating). Environment:
-- MODEL (the body's model), KEY (the bearer key), HEADERS (extra headers, "Name: value"
-- separated by "|", e.g. Portkey's x-portkey-provider and x-portkey-custom-host).
local n = 0
local run = "x"
do
  local f = io.open("/dev/urandom", "rb")
  if f then
    run = string.gsub(f:read(8), ".", function(c) return string.format("%02x", string.byte(c)) end)
    f:close()
  else
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
    run = string.format("%x%x", math.random(0, 0x3fffffff), math.random(0, 0x3fffffff))
  end
end
local body = '{"model":"' .. (os.getenv("MODEL") or "fake-mini") ..
  '","messages":[{"role":"user","content":"Explain the difference between a mutex and a semaphore."}]}'
local key = os.getenv("KEY") or "x"
local extra = {}
for item in string.gmatch(os.getenv("HEADERS") or "", "[^|]+") do
  local name, value = string.match(item, "^%s*([^:]+):%s*(.*)$")
  if name then extra[name] = value end
end
request = function()
  n = n + 1
  local h = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
    ["X-Conversation-Id"] = "bench-" .. run .. "-" .. n,
  }
  for k, v in pairs(extra) do h[k] = v end
  return wrk.format("POST", nil, h, body)
end
