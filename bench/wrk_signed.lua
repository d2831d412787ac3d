-- Replays pre-signed Twilio SMS webhooks: every request is a distinct MessageSid with a valid signature.
--
--   wrk -t2 -c64 -d15s --latency -s bench/wrk_signed.lua http://HOST:PORT/ingest/twilio/sms -- FILE THREADS START
--
-- FILE    lines "<X-Twilio-Signature><TAB><urlencoded form body>" (bench/signed_forms.py writes them)
-- THREADS the -t value: thread n (0-based) sends lines n, n + THREADS, n + 2*THREADS, ... of FILE
-- START   how many of each thread's lines earlier runs used; they are skipped so no MessageSid repeats
--
-- At the end it prints one line per thread:
--   bench-thread id=N issued=I ok=O other=X wrapped=W next=C
-- issued: request() calls (wrk calls it once more on thread 0 to check the script before the run),
-- ok / other: responses with status 200 / any other status, wrapped: 1 if the thread ran out of lines
-- and started repeating them, next: the START to give the next run.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local file, nthreads, start = args[1], tonumber(args[2]), tonumber(args[3] or "0")
   signed = {}
   local index = 0
   for line in io.lines(file) do
      if index % nthreads == id then
         local tab = line:find("\t", 1, true)
         local headers = {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["X-Twilio-Signature"] = line:sub(1, tab - 1),
         }
         signed[#signed + 1] = wrk.format("POST", nil, headers, line:sub(tab + 1))
      end
      index = index + 1
   end
   cursor, issued, ok, other, wrapped = start, 0, 0, 0, 0
end

function request()
   local count = #signed
   if cursor >= count then
      wrapped = 1
   end
   local req = signed[cursor % count + 1]
   cursor = cursor + 1
   issued = issued + 1
   return req
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   for _, thread in ipairs(threads) do
      io.write(string.format("bench-thread id=%d issued=%d ok=%d other=%d wrapped=%d next=%d\n",
         thread:get("id"), thread:get("issued"), thread:get("ok"), thread:get("other"),
         thread:get("wrapped"), thread:get("cursor")))
   end
end
