#!/usr/bin/env bash
# How an agency's CI pipeline uses the mock gateway and the PoC harness, in one script:
#   1. start the mock (own data directory, fixed admin token, a free port) and wait until
#      GET /healthz answers 200;
#   2. run the application's own tests against it ($APP_TESTS, with MOCK_URL, MOCK_ADMIN_TOKEN
#      and a NIK that is found in the environment);
#   3. run the PoC pack against the application, with the JUnit file for the CI server
#      (Jenkins `junit`, GitLab `artifacts:reports:junit`).
#
# From the checkout, after `cargo build --release -p mock-server -p poc-runner -p rsud-app`:
#   bash examples/ci/poc-ci.sh
# The test suite runs it too (tests/tests/it/poc_session.rs, with a one-test pack).
#
# Variables (all optional):
#   BIN         folder of mock-server and poc-runner (default target/release)
#   WORK        where the mock's data, its log and the PoC result go (default: a new temp dir)
#   TARGET      the PoC target file (default scenarios/targets/rsud-app.toml: the reference
#               application, which the runner starts pointed at this mock)
#   SCENARIO    a scenario pack file (default: the standard pack embedded in poc-runner)
#   APP_TESTS   the application's own test command (default: a smoke lookup, see app_tests)
#   SEED, POPULATION   the dummy population (default 1 and 2000)
#   JUNIT_OUT   where to copy the JUnit file (default $WORK/junit.xml)
# Exit code: poc-runner's (0 all checks passed, 1 checks failed, 2 usage, 3 unreachable), or
# the first failing step's.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${BIN:-target/release}
WORK=${WORK:-$(mktemp -d)}
TARGET=${TARGET:-scenarios/targets/rsud-app.toml}
SEED=${SEED:-1}
POPULATION=${POPULATION:-2000}
JUNIT_OUT=${JUNIT_OUT:-$WORK/junit.xml}
MOCK_ADMIN_TOKEN=${MOCK_ADMIN_TOKEN:-ci-token-$$-$RANDOM}
export MOCK_ADMIN_TOKEN
mkdir -p "$WORK"

# A GET or a JSON POST without assuming curl is installed (bash's /dev/tcp otherwise).
http() { # http METHOD URL [JSON]
  local method=$1 url=$2 body=${3:-}
  if command -v curl >/dev/null; then
    if [ -n "$body" ]; then
      curl -sS -X "$method" -H 'Content-Type: application/json' -d "$body" "$url"
    else
      curl -sS -X "$method" "$url"
    fi
    return
  fi
  local rest=${url#http://} hostport path
  hostport=${rest%%/*}
  path=/${rest#*/}
  exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}"
  printf '%s %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' \
    "$method" "$path" "$hostport" "${#body}" "$body" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}

echo "== 1. mock gateway"
"$BIN/mock-server" serve --listen 127.0.0.1:0 --data-dir "$WORK/mock-data" \
  --seed "$SEED" --population "$POPULATION" --admin-token "$MOCK_ADMIN_TOKEN" \
  >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
trap 'kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true' EXIT
MOCK_URL=
for _ in $(seq 1 600); do
  MOCK_URL=$(sed -n 's/^listening on //p' "$WORK/mock.log" | head -n 1)
  [ -n "$MOCK_URL" ] && break
  kill -0 "$MOCK_PID" 2>/dev/null || { cat "$WORK/mock.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$MOCK_URL" ] || { echo "the mock did not start" >&2; cat "$WORK/mock.log" >&2; exit 1; }
export MOCK_URL
health=$(http GET "$MOCK_URL/healthz")
echo "$MOCK_URL/healthz: $health"
case $health in *'"ok"'*) ;; *) echo "the mock is not ready" >&2; exit 1 ;; esac

echo "== 2. the application's own tests against the mock"
"$BIN/mock-server" fixtures --data-dir "$WORK/mock-data" --seed "$SEED" \
  --population "$POPULATION" --format json >"$WORK/fixtures.json"
NIK_FOUND=$(grep -A1 '"found"' "$WORK/fixtures.json" | grep -o '[0-9]\{16\}' | head -n 1)
export NIK_FOUND
app_tests() { # the default: one lookup through the gateway API, as an application makes it
  local answer
  answer=$(http POST "$MOCK_URL/dukcapil/get_json/rsud_3313/CALL_NIK" \
    "{\"NIK\":\"$NIK_FOUND\",\"user_id\":\"rsud_3313\",\"password\":\"dummy-rsud-3313\",\"ip_user\":\"127.0.0.1\",\"User_ID\":\"ci\"}")
  case $answer in *"\"NIK\":$NIK_FOUND"*) echo "lookup of $NIK_FOUND: found" ;;
    *) echo "lookup failed: $answer" >&2; return 1 ;; esac
}
if [ -n "${APP_TESTS:-}" ]; then bash -c "$APP_TESTS"; else app_tests; fi

echo "== 3. the PoC pack, JUnit for the CI server"
status=0
"$BIN/poc-runner" run --target "$TARGET" ${SCENARIO:+--scenario "$SCENARIO"} \
  --mock-url "$MOCK_URL" --admin-token "$MOCK_ADMIN_TOKEN" --out "$WORK/poc-result" || status=$?
if [ -f "$WORK/poc-result/poc-result.junit.xml" ]; then
  cp "$WORK/poc-result/poc-result.junit.xml" "$JUNIT_OUT"
  echo "JUnit: $JUNIT_OUT"
fi
exit "$status"
