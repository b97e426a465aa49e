#!/usr/bin/env bash
# CPU time (and req/s, p99) per CALL_NIK request of one or more mock-server binaries, read from /proc (user +
# system time of the whole process and of its journal-writer thread) over rounds of wrk at 64
# connections on a fresh state database. CPU per request moves far less than req/s on a busy
# machine, so it compares two builds when the machine is not quiet; the binaries alternate.
#
#   bash bench/cpu-per-request.sh OLD_BINARY NEW_BINARY      # needs a dataset from bench/run.sh
#
# ROUNDS (4) rounds of DURATION (8) s per binary and connection count (CONNECTIONS, "64"; e.g.
# CONNECTIONS="16 64 256"), REPEAT (2) times; the journal grows over the
# rounds, so a cost that rises with it shows as a trend. Dataset: target/bench/data-1000000 and
# target/bench/nik-list.lua as bench/run.sh leaves them (POPULATION=1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-4}; DURATION=${DURATION:-8}; REPEAT=${REPEAT:-2}; PORT=${PORT:-18491}
CONNECTIONS=${CONNECTIONS:-64}
SRC=$ROOT/target/bench/data-1000000
[ -f "$ROOT/target/bench/nik-list.lua" ] && ls "$SRC"/population-*.sqlite >/dev/null 2>&1 ||
  { echo "cpu-per-request: run bench/run.sh first (it writes the dataset and NIK list)" >&2; exit 2; }
[ $# -ge 1 ] || { echo "usage: bash bench/cpu-per-request.sh BINARY [BINARY ...]" >&2; exit 2; }
command -v wrk >/dev/null || { echo "cpu-per-request: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
WORK=$(mktemp -d "$ROOT/target/bench/cpu-XXXX")
MOCK_PID=""
trap '[ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
cp "$SRC"/population-*.sqlite "$WORK/"
export NIK_LIST=$ROOT/target/bench/nik-list.lua
ticks=$(getconf CLK_TCK)

one() { # binary label
  rm -f "$WORK"/state.sqlite*
  "$1" serve --listen 127.0.0.1:$PORT --data-dir "$WORK" --population 1000000 >"$WORK/mock.log" 2>&1 &
  local pid=$!; MOCK_PID=$pid
  for _ in $(seq 1 1200); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null || { echo "cpu-per-request: $1 did not start: $(tail -1 "$WORK/mock.log")" >&2; exit 1; }
  local tid=""
  for _ in $(seq 1 600); do
    tid=$( (grep -l journal-writer /proc/$pid/task/*/comm 2>/dev/null || true) | head -1 | cut -d/ -f5)
    [ -n "$tid" ] && break; sleep 0.1
  done
  [ -n "$tid" ] || { echo "cpu-per-request: no journal-writer thread in $1 (see $WORK/mock.log)" >&2; exit 1; }
  cpu() { awk '{print $14+$15}' "$1"; }
  for c in $CONNECTIONS; do
  for r in $(seq 1 "$ROUNDS"); do
    local w0 p0 w1 p1 out n
    w0=$(cpu /proc/$pid/task/$tid/stat); p0=$(cpu /proc/$pid/stat)
    out=$(wrk -t2 -c"$c" -d"${DURATION}s" --latency -s bench/wrk-lookup.lua \
      "http://127.0.0.1:$PORT/dukcapil/get_json/dinkes_3313/CALL_NIK" | grep '^RESULT')
    w1=$(cpu /proc/$pid/task/$tid/stat); p1=$(cpu /proc/$pid/stat)
    n=$(echo "$out" | sed 's/.*requests=\([0-9]*\).*/\1/')
    python3 -c "
f = dict(kv.split('=') for kv in '$out'.split()[1:])
print('| %s | %s | %d | %s | %s | %s | %.1f | %.1f |' % ('$2', '$c', $r, f['rps'], f['p99_ms'], f['max_ms'],
      ($p1-$p0)*1e6/$ticks/$n, ($w1-$w0)*1e6/$ticks/$n))"
  done
  done
  kill $pid; wait $pid 2>/dev/null || true; MOCK_PID=""
}

echo "| binary | connections | round | req/s | p99 ms | max ms | mock CPU us/request | journal-writer CPU us/request |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for _ in $(seq 1 "$REPEAT"); do
  for b in "$@"; do one "$b" "$(basename "$b")"; done
done
