-- wrk script: POST CALL_NIK lookups (or, with BENCH_CALL=verify, CALL_VERIFY_BY_ELEMEN with a
-- name, a birth date and a region name: one scored, two exact verdicts), rotating through the
-- NIKs in nik-list.lua (written by run.sh), and print latency percentiles in a line run.sh parses.
local niks = dofile(os.getenv("NIK_LIST") or "nik-list.lua")
local user = os.getenv("BENCH_USER") or "dinkes_3313"
local password = os.getenv("BENCH_PASSWORD") or "dummy-dinkes-3313"
local verify = os.getenv("BENCH_CALL") == "verify"
local counter = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  thread:set("offset", math.random(1, #niks))
end

request = function()
  counter = counter + 1
  local nik = niks[((offset or 0) + counter) % #niks + 1]
  local body
  if verify then
    body = string.format(
      '{"NIK":"%s","USER_ID":"%s","PASSWORD":"%s","IP_USER":"127.0.0.1","TRESHOLD":"90",' ..
      '"NAMA_LGKP":"SRI LESTARI","TGL_LHR":"01-07-1989","KAB_NAME":"KARANGANYAR","User_ID":"bench.operator%d"}',
      nik, user, password, counter % 7)
  else
    body = string.format(
      '{"nik":"%s","user_id":"%s","password":"%s","ip_user":"127.0.0.1","User_ID":"bench.operator%d"}',
      nik, user, password, counter % 7)
  end
  return wrk.format(nil, nil, nil, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.requests, errors))
end
