#!/usr/bin/env bash
# The README's Quick start, run the way a user runs it (CI calls this from
# .ci/run): `make run` in the background, then from this other process
# /health and /ready must answer 200 within QUICKSTART_BOUND seconds
# (the first call builds the lean variant), then the service is sent
# SIGINT, as Ctrl-C would, and `make run` must exit 0 within
# STOP_BOUND seconds. Any failure is exit 1 with the service's log.
# ADDR is the service's own setting (default 127.0.0.1:8000, as the README).
set -euo pipefail
cd "$(dirname "$0")/.."
addr=${ADDR:-127.0.0.1:8000}
bound=${QUICKSTART_BOUND:-600}
stop_bound=${STOP_BOUND:-20}
log=$(mktemp)
fail() {
  echo "quickstart: $*" >&2
  echo "--- make run output:" >&2
  cat "$log" >&2
  [ -z "${make_pid:-}" ] || kill "$make_pid" 2>/dev/null || true
  exit 1
}
if curl -s -o /dev/null --max-time 2 "http://$addr/health"; then
  fail "something already answers on $addr; stop it or set ADDR"
fi

ADDR=$addr make run >"$log" 2>&1 &
make_pid=$!

# status PATH: the HTTP status of GET PATH, 000 when nothing answers.
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$addr$1" || true; }
deadline=$((SECONDS + bound))
for path in /health /ready; do
  until [ "$(status "$path")" = 200 ]; do
    kill -0 "$make_pid" 2>/dev/null || fail "make run exited before $path answered 200"
    [ $SECONDS -lt $deadline ] || fail "$path did not answer 200 within ${bound}s"
    sleep 0.2 # poll interval; the deadline above is the bound
  done
  echo "quickstart: GET $path 200"
done

# SIGINT to the service itself (/health names its pid): make ran it
# without a shell, so `make run` ends with the service's exit status.
pid=$(curl -s --max-time 2 "http://$addr/health" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
[ -n "$pid" ] || fail "/health names no pid"
kill -INT "$pid"
deadline=$((SECONDS + stop_bound))
while kill -0 "$make_pid" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || fail "make run still running ${stop_bound}s after SIGINT"
  sleep 0.1
done
code=0
wait "$make_pid" || code=$?
make_pid=
[ "$code" = 0 ] || fail "make run exited $code after SIGINT (want 0)"
echo "quickstart: make run served /health and /ready and stopped cleanly on SIGINT"
rm -f "$log"
