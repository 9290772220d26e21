-- wrk script that posts each callback of a file once, as a provider's
-- form_post would, and checks each response.
--
-- Usage: wrk -t THREADS -s post-callbacks.lua URL -- LINES_FILE STATUS \
--            SESSION_COOKIE THREADS DONE_DIR
--
-- LINES_FILE has one callback a line, as bench/mint-callbacks.mjs writes
-- it: the state cookie, the state and the id_token, separated by tabs.
-- Thread k of THREADS posts lines k, k + THREADS, k + 2 * THREADS and so
-- on, so no line is posted twice. A response counts as a success when its
-- status is STATUS and its last Set-Cookie header sets a cookie whose name
-- starts with SESSION_COOKIE; both modules set the session cookie after
-- clearing the state cookie. wrk keeps only the last of several headers of
-- one name.
--
-- Once a thread has had a response to each of its lines, it creates the
-- file DONE_DIR/thread-k and lets its connections idle. wrk runs until its
-- -d duration ends or it gets SIGINT, so bench/run waits for one such file
-- per thread and then sends SIGINT. The rate is therefore taken from the
-- clock readings below, not from wrk's Requests/sec: done() prints the
-- successes, the failures and the microseconds from the first request
-- sent to the last response received, over all threads.

local ffi = require("ffi")

ffi.cdef [[
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]

local clock = ffi.new("bench_timeval")

local function now_us()
   ffi.C.gettimeofday(clock, nil)
   return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_usec)
end

-- Main Lua state: the thread objects, read back in done().
local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
   thread:set("thread_number", #threads)
end

-- Thread Lua states from here on.
local requests = {}
local reserved = 0
local sent = 0
local expected_status
local session_cookie
local done_file
-- Globals, so that done() can read them with thread:get().
successes = 0
failures = 0
first_us = 0
last_us = 0

function init(args)
   local path = args[1]
   local stride = tonumber(args[4])
   expected_status = tonumber(args[2])
   session_cookie = args[3]
   if path == nil or expected_status == nil or session_cookie == nil
         or stride == nil or args[5] == nil then
      error("usage: wrk -s post-callbacks.lua URL -- LINES_FILE STATUS " ..
            "SESSION_COOKIE THREADS DONE_DIR")
   end
   done_file = args[5] .. "/thread-" .. thread_number
   local index = 0
   for line in io.lines(path) do
      index = index + 1
      if (index - 1) % stride == thread_number - 1 then
         local cookie, state, token = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
         if cookie == nil then
            error(path .. ":" .. index .. ": not COOKIE, STATE and ID_TOKEN")
         end
         requests[#requests + 1] = wrk.format("POST", nil, {
            ["Host"] = wrk.headers["Host"],
            ["Cookie"] = cookie,
            ["Content-Type"] = "application/x-www-form-urlencoded",
         }, "state=" .. state .. "&id_token=" .. token)
      end
   end
   if #requests == 0 then
      io.open(done_file, "w"):close()
   end
end

-- Runs before each request of a connection and reserves a line for it.
-- When none is left, the connection waits an hour, and bench/run stops
-- wrk long before that.
function delay()
   if reserved < #requests then
      reserved = reserved + 1
      return 0
   end
   return 3600 * 1000
end

function request()
   -- wrk calls this once before the run to check the request's syntax.
   -- That call has no line reserved, and wrk never sends its request.
   if sent == reserved then
      return requests[1] or wrk.format("POST", nil, nil, "")
   end
   sent = sent + 1
   if sent == 1 then
      first_us = now_us()
   end
   return requests[sent]
end

function response(status, headers, body)
   local cookie = headers["Set-Cookie"] or ""
   if status == expected_status
         and cookie:sub(1, #session_cookie) == session_cookie then
      successes = successes + 1
   else
      failures = failures + 1
   end
   if successes + failures == #requests then
      last_us = now_us()
      io.open(done_file, "w"):close()
   end
end

function done(summary, latency, requests)
   local ok, bad, first, last = 0, 0, math.huge, 0
   for _, thread in ipairs(threads) do
      ok = ok + thread:get("successes")
      bad = bad + thread:get("failures")
      if thread:get("first_us") > 0 then
         first = math.min(first, thread:get("first_us"))
      end
      last = math.max(last, thread:get("last_us"))
   end
   if last == 0 then
      first = 0
   end
   io.write(string.format("callbacks: %d succeeded, %d failed in %d us\n",
                          ok, bad, last - first))
end
