-- wrk script: spread the requests over all 10,000 links /c/{partner}/{ad}/1
-- (partners 1..100 x ads 1..100), a random link per request, and count the
-- answers per status like count302.lua does.
--
-- The 10,000 requests are formatted once per thread in init() so that the
-- per-request cost on the client side is a table lookup, not string work.
-- wrk never stores or sends cookies, so every request is a new visitor.

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("thread_id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   n302 = 0
   nother = 0
   -- Different seed per thread, otherwise both threads walk the same sequence.
   math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
   reqs = {}
   for p = 1, 100 do
      for a = 1, 100 do
         reqs[#reqs + 1] = wrk.format("GET", "/c/" .. p .. "/" .. a .. "/1")
      end
   end
end

function request()
   return reqs[math.random(#reqs)]
end

function response(status, headers, body)
   if status == 302 then
      n302 = n302 + 1
   else
      nother = nother + 1
   end
end

function done(summary, latency, requests)
   local t302, tother = 0, 0
   for _, t in ipairs(threads) do
      t302 = t302 + t:get("n302")
      tother = tother + t:get("nother")
   end
   io.write(string.format("BENCH_COUNTS status302=%d other=%d\n", t302, tother))
end
