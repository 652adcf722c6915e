-- wrk script: waiting screens polling, round-robin over many orders.
--
-- Each request is the next order's path with that order's session cookie,
-- so no order is hammered. Each thread starts at its own offset. Every
-- answer is checked: a status other than 200, or a body without the
-- expected text, is counted and reported in done().
--
-- Arguments (after --): requests file (path TAB cookie, a line per order),
-- expected text, number of threads.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file, count = args[1], tonumber(args[3])
  expected = args[2]
  queue = {}
  for line in io.lines(file) do
    local path, cookie = line:match("^([^\t]+)\t(.+)$")
    queue[#queue + 1] = wrk.format("GET", path, { Cookie = cookie })
  end
  position = math.floor(#queue * id / count)
  unexpected = 0
end

function request()
  position = position % #queue + 1
  return queue[position]
end

function response(status, headers, body)
  if status ~= 200 or not body:find(expected, 1, true) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
  end
  io.write(string.format("Unexpected answers: %d\n", total))
end
