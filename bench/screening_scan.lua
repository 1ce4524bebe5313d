-- wrk script of bench/screening_scan.py: one prepared station batch per request, never reused.
--
--     wrk ... -s bench/screening_scan.lua http://127.0.0.1:PORT/screening/station/SITE/batch -- BODIES TOTAL THREADS COOKIE CSRF
--
-- BODIES holds TOTAL lines, one JSON batch each. Thread k of THREADS takes lines
-- [TOTAL*k/THREADS, TOTAL*(k+1)/THREADS) and sends them in order with the session cookie and the CSRF
-- header; a thread that runs out sends GET /bench-scan-out-of-lines (a 404, so the run fails). done()
-- prints "burst-thread k first=… lines=… used=… out_of_lines=…" per thread for the Python side.

local threads = {}

function setup(thread)
   thread:set("index", #threads)
   table.insert(threads, thread)
end

local requests = {}
local count = 0
local next_line = 1
used = 0
out_of_lines = 0
first = 0
lines = 0
local spare

function init(args)
   local path, total, nthreads, cookie, csrf = args[1], tonumber(args[2]), tonumber(args[3]), args[4], args[5]
   if path == nil or total == nil or nthreads == nil or cookie == nil or csrf == nil then
      error("usage: -- BODIES TOTAL THREADS COOKIE CSRF")
   end
   first = math.floor(total * index / nthreads)
   local last = math.floor(total * (index + 1) / nthreads)
   local headers = {["Content-Type"] = "application/json", ["Cookie"] = cookie, ["X-CSRFToken"] = csrf}
   local i = 0
   for line in io.lines(path) do
      if i >= last then
         break
      end
      if i >= first then
         count = count + 1
         requests[count] = wrk.format("POST", wrk.path, headers, line)
      end
      i = i + 1
   end
   lines = count
   spare = wrk.format("GET", "/bench-scan-out-of-lines", {})
end

function request()
   if next_line > count then
      out_of_lines = out_of_lines + 1
      return spare
   end
   local r = requests[next_line]
   requests[next_line] = nil
   next_line = next_line + 1
   used = used + 1
   return r
end

function done(summary, latency, requests)
   for _, thread in ipairs(threads) do
      io.write(string.format(
         "burst-thread %d first=%d lines=%d used=%d out_of_lines=%d\n",
         thread:get("index"), thread:get("first"), thread:get("lines"), thread:get("used"),
         thread:get("out_of_lines")
      ))
   end
end
