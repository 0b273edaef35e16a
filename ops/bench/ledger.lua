-- ops/bench/ledger.lua — wrk requests for ops/bench/ledger.sh.
--
--   wrk -tT ... -s ledger.lua <url> -- MODE BRANDS_FILE SKUS FIRST_SKU NONCE TTL T
--
-- MODE:  sales  POST /api/v1/brands/{bid}/movements {"kind":"sale"} on a random brand and SKU
--        hot    the same sale, always the first brand and FIRST_SKU
--        holds  POST /api/v1/brands/{bid}/holds on a random brand and SKU, ttl_seconds = TTL
--        holds1 the same hold, always the first brand, a random SKU
--        sweep  sales that visit every (brand, SKU) once, then stop (the warm-up)
-- BRANDS_FILE: one "brand_id token" per line.  SKU codes are FIRST_SKU .. FIRST_SKU + SKUS - 1.
-- Every request carries its brand's Bearer token and an Idempotency-Key of its own
-- (NONCE, thread number, counter).  Responses are counted by status; the body of
-- the first non-2xx response of each thread is kept for the report.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local mode, brands, tokens, nskus, first, nonce, ttl, nthreads
local counter, sweep_next, sweep_total = 0, 0, 0
statuses, first_error = {}, ""

function init(args)
  mode, nskus, first, nonce = args[1], tonumber(args[3]), tonumber(args[4]), args[5]
  ttl, nthreads = tonumber(args[6]), tonumber(args[7])
  brands, tokens = {}, {}
  for line in io.lines(args[2]) do
    local b, t = line:match("^(%S+)%s+(%S+)$")
    if b then
      brands[#brands + 1] = b
      tokens[#tokens + 1] = t
    end
  end
  math.randomseed(os.time() * 1000 + tid)
  sweep_next = tid - 1
  sweep_total = #brands * nskus
end

local function build(b, sku)
  counter = counter + 1
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[b],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = nonce .. "-" .. tid .. "-" .. counter,
  }
  local path, body
  if mode == "holds" or mode == "holds1" then
    path = "/api/v1/brands/" .. brands[b] .. "/holds"
    body = '{"sku":"' .. sku .. '","qty":1,"ttl_seconds":' .. ttl .. '}'
  else
    path = "/api/v1/brands/" .. brands[b] .. "/movements"
    body = '{"kind":"sale","sku":"' .. sku .. '","qty":1}'
  end
  return wrk.format("POST", path, headers, body)
end

function request()
  if mode == "hot" then
    return build(1, first)
  elseif mode == "holds1" then
    return build(1, first + math.random(nskus) - 1)
  elseif mode == "sweep" then
    -- Thread t takes n = t-1, t-1+T, ...; past the end it repeats the last one until it stops.
    local n = math.min(sweep_next, sweep_total - 1)
    sweep_next = sweep_next + nthreads
    return build(math.floor(n / nskus) + 1, first + n % nskus)
  end
  return build(math.random(#brands), first + math.random(nskus) - 1)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 300 and first_error == "" then
    first_error = tostring(status) .. " " .. (body or "")
  end
  if mode == "sweep" and sweep_next >= sweep_total then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total, lines = {}, {}
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses")) do
      total[s] = (total[s] or 0) + n
    end
    local e = t:get("first_error")
    if e ~= "" then lines[#lines + 1] = "first error: " .. e end
  end
  local parts = {}
  for s, n in pairs(total) do parts[#parts + 1] = s .. "=" .. n end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
  for _, l in ipairs(lines) do io.write(l:sub(1, 400):gsub("\n", " ") .. "\n") end
end
