-- wrk script of bench/antigen.py: one prepared POST per request, each with its own session cookie,
-- never reused. A thread whose lines are all sent sends GET /healthz (counted as out_of_lines) until
-- bench/antigen.py, which watches the reports arrive, stops wrk with SIGINT.
--
--     wrk ... -s bench/antigen.lua http://127.0.0.1:PORT/antigen/my/report.json -- LINES_FILE TOTAL THREADS CSRF
--
-- LINES_FILE holds TOTAL lines "<session key>\t<JSON body>". Each request carries the cookie
-- "sessionid=<key>; csrftoken=CSRF" and the header "X-CSRFToken: CSRF". Thread k of THREADS takes
-- lines [TOTAL*k/THREADS, TOTAL*(k+1)/THREADS). done() prints "burst-thread k first=… lines=… used=…
-- out_of_lines=…" per thread, which the Python side parses (bench/reservation_burst.parse_wrk).

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
   local path, total, nthreads, csrf = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
   if path == nil or total == nil or nthreads == nil or csrf == nil then
      error("usage: -- LINES_FILE TOTAL THREADS CSRF")
   end
   first = math.floor(total * index / nthreads)
   local last = math.floor(total * (index + 1) / nthreads)
   local i = 0
   for line in io.lines(path) do
      if i >= last then
         break
      end
      if i >= first then
         local tab = line:find("\t", 1, true)
         local headers = {
            ["Content-Type"] = "application/json",
            ["X-CSRFToken"] = csrf,
            ["Cookie"] = "sessionid=" .. line:sub(1, tab - 1) .. "; csrftoken=" .. csrf,
         }
         count = count + 1
         requests[count] = wrk.format("POST", wrk.path, headers, line:sub(tab + 1))
      end
      i = i + 1
   end
   lines = count
   spare = wrk.format("GET", "/healthz", {})
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
