-- wrk script: spread the requests over all 10,000 links /c/{partner}/{ad}/1
-- (partners 1..100 x ads 1..100), a random link per request, counting the
-- answers per status with count302.lua's hooks.
--
-- The 10,000 requests are formatted once per thread in init() so that the
-- per-request cost on the client side is a table lookup, not string work.
-- wrk never stores or sends cookies, so every request is a new visitor.

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "count302.lua")

local count_setup, count_init = setup, init
local next_id = 1

function setup(thread)
   thread:set("thread_id", next_id)
   next_id = next_id + 1
   count_setup(thread)
end

function init(args)
   count_init(args)
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
