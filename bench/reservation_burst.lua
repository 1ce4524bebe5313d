-- wrk script of bench/reservation_burst.py (and bench/screening_scan.py): one prepared POST per request,
-- never reused.
--
--     wrk ... -s bench/reservation_burst.lua http://127.0.0.1:PORT/masks/api/reservations -- LINES_FILE TOTAL THREADS
--         [HEADER ...]
--
-- LINES_FILE holds TOTAL lines "<bearer token>\t<JSON body>" (an empty token: no Authorization header);
-- each HEADER word "Name: value" is sent with every request (a session cookie, a CSRF header). Thread k of THREADS (numbered by setup(), which
-- wrk calls for each thread before that thread's init()) takes lines [TOTAL*k/THREADS, TOTAL*(k+1)/THREADS),
-- formats them all in init() and sends them in order, one per request. A thread that runs out sends
-- GET /bench-burst-out-of-lines instead (a 404, so the run fails) and counts it. done() prints one line per
-- thread, "burst-thread k first=… lines=… used=… out_of_lines=…", which the Python side parses.

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
   -- wrk hands the URL over as args[0] and the words after "--" as args[1], args[2], ...
   local path, total, nthreads = args[1], tonumber(args[2]), tonumber(args[3])
   if path == nil or total == nil or nthreads == nil then
      error("usage: -- LINES_FILE TOTAL THREADS [HEADER ...]")
   end
   local fixed = {["Content-Type"] = "application/json"}
   local n = 4
   while args[n] ~= nil do
      local colon = args[n]:find(": ", 1, true)
      if colon == nil then
         error("a HEADER is \"Name: value\": " .. args[n])
      end
      fixed[args[n]:sub(1, colon - 1)] = args[n]:sub(colon + 2)
      n = n + 1
   end
   if index == nil then
      error("setup() did not number this thread before init()")
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
         local headers = {}
         for name, value in pairs(fixed) do
            headers[name] = value
         end
         if tab > 1 then
            headers["Authorization"] = "Bearer " .. line:sub(1, tab - 1)
         end
         count = count + 1
         requests[count] = wrk.format("POST", wrk.path, headers, line:sub(tab + 1))
      end
      i = i + 1
   end
   lines = count
   spare = wrk.format("GET", "/bench-burst-out-of-lines", {})
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
