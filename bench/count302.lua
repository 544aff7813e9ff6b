-- wrk script: send the URL given on the command line unchanged, and count
-- the answers per status so that the total number of 302s can be compared
-- with the clicks the server stored.
--
-- Each wrk thread runs its own Lua state, so the counters live in each
-- thread's globals; setup() keeps a handle on every thread and done()
-- (which runs in the main state after the run) sums them with thread:get().
-- wrk never stores or sends cookies, so every request is a new visitor.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   n302 = 0
   nother = 0
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
   -- One parseable line; the shell scripts grep for it.
   io.write(string.format("BENCH_COUNTS status302=%d other=%d\n", t302, tother))
end
