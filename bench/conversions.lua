-- wrk script: POST one compatible S2S conversion per request, each with a new
-- OrderId, crediting the benchmark's recorded clicks in turn, and count the
-- answers: 200 (QUEUED, the conversion is stored) against anything else.
--
-- Arguments (after `--`): the file of click ids, the Basic credentials
-- (base64 of SID:token), the request path, and a prefix that keeps OrderIds
-- unique across runs. Each wrk thread has its own Lua state and counter, and
-- setup() gives each its own number, so no two requests share an OrderId.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function init(args)
   n200, nother, counter = 0, 0, 0
   clicks = {}
   for id in io.lines(args[1]) do
      clicks[#clicks + 1] = id
   end
   credentials, path, prefix = args[2], args[3], args[4]
   -- "shopper": each click's shopper is one customer, as in a real shop; "shared":
   -- one customer id for every order (a sloppy integration's "guest"), the worst
   -- case for identity: one customer linked to every browser.
   customers = (args[5] == "shared") and "guest" or "c"
end

function request()
   counter = counter + 1
   local index = (counter * 7 + tid) % #clicks + 1
   local click = clicks[index]
   local body = "CampaignId=1&ActionTrackerId=1&EventDate=NOW&CurrencyCode=USD"
      .. "&OrderId=" .. prefix .. "-" .. tid .. "-" .. counter
      .. "&ClickId=" .. click
      .. "&CustomerId=" .. ((customers == "guest") and "guest" or ("c" .. index))
      .. "&ItemSku1=TENT&ItemCategory1=tents&ItemPrice1=249.00&ItemQuantity1=1"
      .. "&ItemSku2=MUG&ItemCategory2=accessories&ItemPrice2=14.95&ItemQuantity2=2"
      .. "&OrderDiscount=10.00&OrderShipping=7.95"
   return wrk.format("POST", path, {
      ["Authorization"] = "Basic " .. credentials,
      ["Content-Type"] = "application/x-www-form-urlencoded",
   }, body)
end

function response(status, headers, body)
   if status == 200 then
      n200 = n200 + 1
   else
      nother = nother + 1
   end
end

function done(summary, latency, requests)
   local ok, other = 0, 0
   for _, t in ipairs(threads) do
      ok = ok + t:get("n200")
      other = other + t:get("nother")
   end
   io.write(string.format("BENCH_COUNTS ok=%d other=%d\n", ok, other))
end
