-- wrk script of bench/reservation_burst.py, bench/screening_scan.py and bench/antigen.py: one prepared
-- POST per request, never reused.
--
--     wrk ... -s bench/reservation_burst.lua http://127.0.0.1:PORT/masks/api/reservations -- LINES_FILE TOTAL THREADS
--         [OPTION ...]
--
-- LINES_FILE holds TOTAL lines "<value>\t<JSON body>". The value is a bearer token (an empty one: no
-- Authorization header), or with the option "field=cookie:NAME" a cookie NAME=value added to the request's
-- Cookie header. Each other OPTION "Name: value" is a header sent with every request (a session cookie, a
-- CSRF header). Thread k of THREADS (numbered by setup(), which wrk calls for each thread before that
-- thread's init()) takes lines [TOTAL*k/THREADS, TOTAL*(k+1)/THREADS), formats them all in init() and sends
-- them in order, one per request. A thread that runs out sends GET /bench-burst-out-of-lines (a 404, so the
-- run fails), or the path of the option "spare=PATH" (for a bench that stops wrk itself once its rows are
-- stored), and counts it. done() prints one line per thread, "burst-thread k first=… lines=… used=…
-- out_of_lines=…", which the Python side parses.

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
   local cookie_name = nil
   local spare_path = "/bench-burst-out-of-lines"
   local n = 4
   while args[n] ~= nil do
      local word = args[n]
      if word:sub(1, 13) == "field=cookie:" then
         cookie_name = word:sub(14)
      elseif word:sub(1, 6) == "spare=" then
         spare_path = word:sub(7)
      else
         local colon = word:find(": ", 1, true)
         if colon == nil then
            error("an OPTION is \"Name: value\", field=cookie:NAME or spare=PATH: " .. word)
         end
         fixed[word:sub(1, colon - 1)] = word:sub(colon + 2)
      end
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
         if tab > 1 and cookie_name ~= nil then
            local own = cookie_name .. "=" .. line:sub(1, tab - 1)
            headers["Cookie"] = headers["Cookie"] and (own .. "; " .. headers["Cookie"]) or own
         elseif tab > 1 then
            headers["Authorization"] = "Bearer " .. line:sub(1, tab - 1)
         end
         count = count + 1
         requests[count] = wrk.format("POST", wrk.path, headers, line:sub(tab + 1))
      end
      i = i + 1
   end
   lines = count
   spare = wrk.format("GET", spare_path, {})
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
