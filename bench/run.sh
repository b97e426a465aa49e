#!/usr/bin/env bash
# Reproduces the benchmark table in README.md ("Benchmarks"). Needs wrk (Debian package `wrk`);
# the WireMock column also needs Java 17+ and npm (it installs the `wiremock` npm package, which
# bundles the standalone jar, into bench/.wiremock). Everything listens on 127.0.0.1 only.
#
#   bash bench/run.sh                 # full run: 1,000,000 residents, 10 s per point
#   DURATION=3 POPULATION=100000 bash bench/run.sh   # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-10}
POPULATION=${POPULATION:-1000000}
CONNECTIONS=${CONNECTIONS:-"16 64 256"}
WORK=${BENCH_DIR:-$ROOT/target/bench}
mkdir -p "$WORK"
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 2; }

cargo build --release -q -p mock-server -p bench -p poc-runner -p rsud-app
MOCK=$ROOT/target/release/mock-server
BARE=$ROOT/target/release/bare-axum
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# The mock binds its port while it still prepares the population (503 meanwhile): wait for /healthz.
wait_ready() { for _ in $(seq 1 1200); do curl -sf -o /dev/null "http://127.0.0.1:$1/healthz" && return 0; sleep 0.1; done; echo "bench: the mock on port $1 never got ready" >&2; return 1; }
wait_port() { for _ in $(seq 1 600); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "bench: port $1 never opened" >&2; return 1; }

echo "== population generation"
GEN_ROWS=()
for n in 100000 "$POPULATION"; do
  dir=$(mktemp -d "$WORK/gen-XXXX")
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$dir/maxrss" "$MOCK" residents --data-dir "$dir" --population "$n" --limit 0 --format json >/dev/null
  end=$(date +%s.%N)
  GEN_ROWS+=("$(python3 -c "s=$end-$start; print('| generate %d residents | %.2f s | %.0f residents/s | peak RSS %d MB |' % ($n, s, $n/s, $(cat "$dir/maxrss")//1024))")")
  rm -rf "$dir"
done

echo "== a full standard PoC session (poc-runner demo: embedded mock + reference application)"
rm -rf "$WORK/poc-out"
start=$(date +%s.%N)
if "$ROOT/target/release/poc-runner" demo --out "$WORK/poc-out" >"$WORK/poc-demo.log" 2>&1; then
  end=$(date +%s.%N)
  POC_ROW=$(python3 -c "print('| full standard PoC session (demo) | %.1f s |' % ($end-$start))")
else
  POC_ROW="| full standard PoC session (demo) | failed: see $WORK/poc-demo.log |"
fi

echo "== dataset for the load test ($POPULATION residents)"
DATA=$WORK/data-$POPULATION
"$MOCK" residents --data-dir "$DATA" --population "$POPULATION" --status active --limit 20000 --format json > "$WORK/active.json"
python3 - "$WORK/active.json" "$WORK/nik-list.lua" <<'PY'
import json, sys
niks = [r["NIK"] for r in json.load(open(sys.argv[1]))]
open(sys.argv[2], "w").write("return {" + ",".join('"%s"' % n for n in niks) + "}\n")
PY
export NIK_LIST=$WORK/nik-list.lua

MOCK_PORT=18471; BARE_PORT=18472; WM_PORT=18473
rm -f "$DATA/state.sqlite"*
"$MOCK" serve --listen 127.0.0.1:$MOCK_PORT --data-dir "$DATA" --population "$POPULATION" >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!; PIDS+=("$MOCK_PID")
wait_ready $MOCK_PORT
FIRST_NIK=$(python3 -c "import json;print(json.load(open('$WORK/active.json'))[0]['NIK'])")
curl -s -X POST -H 'Content-Type: application/json' \
  -d "{\"nik\":\"$FIRST_NIK\",\"user_id\":\"dinkes_3313\",\"password\":\"dummy-dinkes-3313\",\"ip_user\":\"127.0.0.1\",\"User_ID\":\"bench\"}" \
  "http://127.0.0.1:$MOCK_PORT/dukcapil/get_json/dinkes_3313/CALL_NIK" > "$WORK/record.json"
grep -q '"NAMA_LGKP"' "$WORK/record.json" || { echo "bench: the mock did not answer with data: $(cat "$WORK/record.json")" >&2; exit 1; }
echo "record: $(wc -c < "$WORK/record.json") bytes"

"$BARE" 127.0.0.1:$BARE_PORT "$WORK/record.json" >"$WORK/bare.log" 2>&1 &
PIDS+=("$!"); wait_port $BARE_PORT

WM_OK=0
if command -v java >/dev/null && command -v npm >/dev/null && [ "${SKIP_WIREMOCK:-0}" != 1 ]; then
  if [ ! -d bench/.wiremock/node_modules/wiremock ]; then
    mkdir -p bench/.wiremock && (cd bench/.wiremock && npm install --silent --no-audit --no-fund wiremock >/dev/null 2>&1) || true
  fi
  JAR=$(ls bench/.wiremock/node_modules/wiremock/build/wiremock-standalone-*.jar 2>/dev/null | head -1 || true)
  if [ -n "$JAR" ]; then
    java -jar "$JAR" --port $WM_PORT --bind-address 127.0.0.1 --disable-banner >"$WORK/wiremock.log" 2>&1 &
    WM_PID=$!; PIDS+=("$WM_PID")
    wait_port $WM_PORT
    python3 - "$WORK/record.json" "$WM_PORT" <<'PY'
import json, sys, urllib.request
body = open(sys.argv[1]).read()
stub = {"request": {"method": "POST", "urlPathPattern": "/dukcapil/get_json/.*/CALL_NIK"},
        "response": {"status": 200, "body": body, "headers": {"Content-Type": "application/json"}}}
req = urllib.request.Request("http://127.0.0.1:%s/__admin/mappings" % sys.argv[2], json.dumps(stub).encode(),
                             {"Content-Type": "application/json"})
urllib.request.urlopen(req).read()
PY
    WM_OK=1
  fi
fi

run_wrk() { # name port conns pid [method] (CALL_VERIFY_BY_ELEMEN: verification bodies)
  local method=${5:-CALL_NIK} call=lookup
  [ "$method" = CALL_VERIFY_BY_ELEMEN ] && call=verify
  local out; out=$(BENCH_CALL=$call wrk -t2 -c"$3" -d"${DURATION}s" --latency -s bench/wrk-lookup.lua "http://127.0.0.1:$2/dukcapil/get_json/dinkes_3313/$method" 2>&1 | grep '^RESULT' || true)
  echo "$1 c=$3 $out rss_kb=$(rss_kb "$4")"
}

echo "== load (wrk -t2, ${DURATION}s per point)"
LOAD=()
for c in $CONNECTIONS; do
  # warm up each server briefly so the first point is not a cold start
  wrk -t2 -c"$c" -d1s -s bench/wrk-lookup.lua "http://127.0.0.1:$MOCK_PORT/dukcapil/get_json/dinkes_3313/CALL_NIK" >/dev/null 2>&1 || true
  LOAD+=("$(run_wrk bare $BARE_PORT "$c" "${PIDS[1]}")")
  LOAD+=("$(run_wrk mock $MOCK_PORT "$c" "$MOCK_PID")")
  [ "$WM_OK" = 1 ] && LOAD+=("$(run_wrk wiremock $WM_PORT "$c" "$WM_PID")")
done

echo "== verification (CALL_VERIFY_BY_ELEMEN: one scored, two exact verdicts; c=64)"
LOAD+=("$(run_wrk mock-verify $MOCK_PORT 64 "$MOCK_PID" CALL_VERIFY_BY_ELEMEN)")

echo "== lookups while 5 MB CSV uploads are parsed (c=64, two uploaders back to back)"
python3 bench/upload-csv.py "$WORK/upload.csv"
upload_loop() {
  while :; do
    curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer balikan-dinkes-3313-dummy" \
      -F id_lembaga=dinkes_3313 -F "file=@$WORK/upload.csv;filename=balikan.csv" \
      "http://127.0.0.1:$MOCK_PORT/data_balikan/public/api/upload" >>"$WORK/uploads.log" || true
  done
}
: >"$WORK/uploads.log"
upload_loop & UP1=$!
upload_loop & UP2=$!
sleep 1
LOAD+=("$(run_wrk mock+upload $MOCK_PORT 64 "$MOCK_PID")")
kill "$UP1" "$UP2" 2>/dev/null || true
wait "$UP1" "$UP2" 2>/dev/null || true
echo "uploads answered during the point: $(wc -l <"$WORK/uploads.log") ($(sort "$WORK/uploads.log" | uniq -c | tr '\n' ' '))"
MOCK_HWM=$(hwm_kb "$MOCK_PID")

echo "== the same mock without durability (durable_answers = false: answers before the commit)"
# The cost of durability made visible: the same server, data and work per request, but an answer
# does not wait for its journal row and quota count to be committed.
kill "$MOCK_PID" 2>/dev/null || true
wait "$MOCK_PID" 2>/dev/null || true
printf 'durable_answers = false\n' >"$WORK/no-durability.toml"
"$MOCK" serve --config "$WORK/no-durability.toml" --listen 127.0.0.1:$MOCK_PORT --data-dir "$DATA" --population "$POPULATION" >"$WORK/mock-nd.log" 2>&1 &
ND_PID=$!; PIDS+=("$ND_PID")
wait_ready $MOCK_PORT
wrk -t2 -c64 -d1s -s bench/wrk-lookup.lua "http://127.0.0.1:$MOCK_PORT/dukcapil/get_json/dinkes_3313/CALL_NIK" >/dev/null 2>&1 || true
for c in $CONNECTIONS; do
  LOAD+=("$(run_wrk mock-nodurable $MOCK_PORT "$c" "$ND_PID")")
done

echo "== many institutions (issue 17): CALL_NIK at c=64 with 1,000 institutions configured vs 5"
# 5: the embedded agreements alone; 1,000: 995 more under one agreement, each with its own admin
# token, as a regency sandbox has them. The lookup path names one institution of the middle.
kill "$ND_PID" 2>/dev/null || true
wait "$ND_PID" 2>/dev/null || true
for n in 5 1000; do
  python3 - "$((n - 5))" "$WORK/institutions-$n.toml" <<'PY'
import sys
extra, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(extra):
        f.write('[institutions.pkm_%04d]\nagreement = "dinkes-karanganyar"\nadmin_token = "bench-admin-token-%04d"\n\n' % (i, i))
PY
  "$MOCK" serve --config "$WORK/institutions-$n.toml" --listen 127.0.0.1:$MOCK_PORT --data-dir "$DATA" --population "$POPULATION" >"$WORK/mock-institutions-$n.log" 2>&1 &
  INST_PID=$!; PIDS+=("$INST_PID")
  wait_ready $MOCK_PORT
  if [ "$n" = 5 ]; then cid=dinkes_3313; pw=dummy-dinkes-3313; else cid=pkm_0497; pw=dummy-pkm_0497; fi
  BENCH_USER=$cid BENCH_PASSWORD=$pw wrk -t2 -c64 -d1s -s bench/wrk-lookup.lua "http://127.0.0.1:$MOCK_PORT/dukcapil/get_json/$cid/CALL_NIK" >/dev/null 2>&1 || true
  out=$(BENCH_USER=$cid BENCH_PASSWORD=$pw wrk -t2 -c64 -d"${DURATION}s" --latency -s bench/wrk-lookup.lua "http://127.0.0.1:$MOCK_PORT/dukcapil/get_json/$cid/CALL_NIK" 2>&1 | grep '^RESULT' || true)
  LOAD+=("institutions-$n c=64 $out rss_kb=$(rss_kb "$INST_PID")")
  kill "$INST_PID" 2>/dev/null || true
  wait "$INST_PID" 2>/dev/null || true
done

python3 - "$MOCK_HWM" "${LOAD[@]}" <<'PY'
import re, sys
hwm = int(sys.argv[1])
rows = {}
for line in sys.argv[2:]:
    name, conns = line.split()[0], int(line.split()[1][2:])
    kv = dict(re.findall(r"(\w+)=([\d.]+)", line))
    rows[(name, conns)] = kv
print()
print("| connections | server | req/s | ratio to bare axum | p50 ms | p99 ms | errors | RSS MB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for (name, c), kv in sorted(rows.items(), key=lambda x: (x[0][1], x[0][0])):
    bare = rows.get(("bare", c), {}).get("rps")
    rps = float(kv.get("rps", 0))
    ratio = "%.2fx" % (rps / float(bare)) if bare and float(bare) > 0 else "-"
    print("| %d | %s | %.0f | %s | %s | %s | %s | %.0f |" % (c, name, rps, ratio, kv.get("p50_ms", "-"),
          kv.get("p99_ms", "-"), kv.get("errors", "-"), int(kv.get("rss_kb", 0)) / 1024))
for c in sorted({c for (_, c) in rows}):
    m, w = rows.get(("mock", c)), rows.get(("wiremock", c))
    if m and w and float(w["rps"]) > 0:
        print("\nmock / WireMock at %d connections: %.2fx" % (c, float(m["rps"]) / float(w["rps"])), end="")
u, m = rows.get(("mock+upload", 64)), rows.get(("mock", 64))
if u and m and float(m.get("p99_ms", 0)) > 0:
    print("\n\nlookup p99 at 64 connections with 5 MB uploads / without: %.2fx" % (float(u["p99_ms"]) / float(m["p99_ms"])), end="")
a, b = rows.get(("institutions-1000", 64)), rows.get(("institutions-5", 64))
if a and b and float(b.get("rps", 0)) > 0:
    print("\n\nCALL_NIK at 64 connections, 1,000 institutions / 5: %.2fx" % (float(a["rps"]) / float(b["rps"])), end="")
print("\n\nmock peak RSS over the whole run: %.0f MB" % (hwm / 1024))
PY
echo
printf '%s\n' "| generation | time | rate | memory |" "| --- | --- | --- | --- |" "${GEN_ROWS[@]}"
echo
printf '%s\n' "| session | wall time |" "| --- | --- |" "$POC_ROW"
