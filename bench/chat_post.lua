wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("KEY") or "x")
wrk.body = '{"model":"' .. (os.getenv("MODEL") or "fake-mini") .. '","messages":[{"role":"user","content":"Explain the difference between a mutex and a semaphore."}]}'
