#!/usr/bin/env bash
# Peak memory of the mock while two 5 MB CSV uploads are parsed back to back (the upload point of
# bench/run.sh, without wrk): starts a mock, samples VmRSS/VmHWM from /proc every 50 ms during
# DURATION seconds of two upload loops, prints idle RSS, peak RSS and VmHWM in MB.
#
#   bash bench/upload-mem.sh [MOCK_BINARY]      # default: this checkout, built in release
#   POPULATION=1000000 DURATION=10 bash bench/upload-mem.sh /tmp/mem-base
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
  MOCK=$1
else
  cargo build --release -q -p mock-server
  MOCK=$PWD/target/release/mock-server
fi
[ -x "$MOCK" ] || { echo "upload-mem: $MOCK is not an executable mock-server" >&2; exit 2; }
DURATION=${DURATION:-10}
POPULATION=${POPULATION:-10000}
PORT=${PORT:-18481}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/upload-mem-XXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

python3 bench/upload-csv.py "$WORK/upload.csv"

"$MOCK" serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" --population "$POPULATION" >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!; PIDS+=("$MOCK_PID")
for _ in $(seq 1 1200); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
sleep 0.5
IDLE=$(awk '/VmRSS/ {print $2}' "/proc/$MOCK_PID/status")

upload_loop() {
  local end=$((SECONDS + DURATION))
  while [ $SECONDS -lt $end ]; do
    curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer balikan-dinkes-3313-dummy" \
      -F id_lembaga=dinkes_3313 -F "file=@$WORK/upload.csv;filename=balikan.csv" \
      "http://127.0.0.1:$PORT/data_balikan/public/api/upload" >>"$WORK/uploads.log" || true
  done
}
: >"$WORK/uploads.log"
upload_loop & PIDS+=("$!"); UP1=$!
upload_loop & PIDS+=("$!"); UP2=$!
PEAK=0
while kill -0 "$UP1" 2>/dev/null || kill -0 "$UP2" 2>/dev/null; do
  r=$(awk '/VmRSS/ {print $2}' "/proc/$MOCK_PID/status")
  [ "$r" -gt "$PEAK" ] && PEAK=$r
  sleep 0.05
done
HWM=$(awk '/VmHWM/ {print $2}' "/proc/$MOCK_PID/status")
END=$(awk '/VmRSS/ {print $2}' "/proc/$MOCK_PID/status")
echo "$(basename "$MOCK") population=$POPULATION idle_rss_mb=$((IDLE / 1024)) peak_rss_mb=$((PEAK / 1024)) vmhwm_mb=$((HWM / 1024)) end_rss_mb=$((END / 1024)) uploads: $(sort "$WORK/uploads.log" | uniq -c | tr -s ' \n' ' ')"
