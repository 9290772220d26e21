-- wrk script that sends a different session cookie with every request, so
-- that each request brings a session the server has not opened before.
--
-- Usage: wrk -t THREADS -s rotate-cookies.lua URL -- COOKIE_FILE \
--            COOKIE_NAME THREADS
--
-- COOKIE_FILE contains one cookie value a line. Thread k of THREADS sends
-- values k, k + THREADS, k + 2 * THREADS and so on, so no value is sent
-- twice before the whole list has been sent once.

local thread_total = 0

-- Runs in the main Lua state once per thread, before the thread starts.
function setup(thread)
   thread_total = thread_total + 1
   thread:set("thread_number", thread_total)
end

local cookies = {}
local cookie_name
local stride
local next_index

function init(args)
   local path = args[1]
   cookie_name = args[2]
   stride = tonumber(args[3])
   if path == nil or cookie_name == nil or stride == nil then
      error("usage: wrk -s rotate-cookies.lua URL -- COOKIE_FILE " ..
            "COOKIE_NAME THREADS")
   end
   local file = assert(io.open(path, "r"))
   for line in file:lines() do
      if line ~= "" then
         cookies[#cookies + 1] = line
      end
   end
   file:close()
   if #cookies < stride then
      error("fewer cookie values in " .. path .. " than threads")
   end
   next_index = thread_number
end

function request()
   local value = cookies[next_index]
   next_index = next_index + stride
   if next_index > #cookies then
      next_index = (next_index - 1) % stride + 1
   end
   return wrk.format(nil, nil, {
      ["Host"] = wrk.headers["Host"],
      ["Cookie"] = cookie_name .. "=" .. value,
   })
end
