#!/usr/bin/env bash
# Three replicas of advanced-backend sharing one Redis, behind nginx with
# the repository's own configuration (deploy/nginx/advanced-backend.conf),
# all on this machine's loopback. Ctrl-C stops everything (each replica
# drains for SHUTDOWN_DRAIN first, as in production).
#
#   make prodapi && examples/fleet/run.sh
#   curl -s localhost:8080/health        # answered by r1, r2 or r3 in turn
#
# Needs redis-server and nginx (Debian: apt-get install redis-server nginx);
# neither runs as a system service here, nothing needs root.
# Environment: BIN (dist/prodapi/advanced-backend), LB_PORT (8080),
# REDIS_PORT (6390), REPLICA_PORTS ("8001 8002 8003"), WORK_DIR (a new
# temporary directory), NGINX (nginx on PATH, else /usr/sbin/nginx). Any
# service setting (RATE_LIMIT_RPS, JWT_SECRET, ...) in the environment
# reaches every replica, as it must: see DEPLOY.md for those that must match.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${BIN:-dist/prodapi/advanced-backend}
LB_PORT=${LB_PORT:-8080}
REDIS_PORT=${REDIS_PORT:-6390}
read -r -a PORTS <<<"${REPLICA_PORTS:-8001 8002 8003}"
WORK_DIR=${WORK_DIR:-$(mktemp -d -t advanced-backend-fleet.XXXXXX)}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
SITE=deploy/nginx/advanced-backend.conf

[ -x "$BIN" ] || { echo "no binary at $BIN: run make prodapi (or set BIN)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install redis-server" >&2; exit 1; }
[ -x "$NGINX" ] || { echo "nginx not found: apt-get install nginx" >&2; exit 1; }
[ "${#PORTS[@]}" -eq 3 ] || { echo "REPLICA_PORTS needs three ports" >&2; exit 1; }

export SHUTDOWN_DRAIN=${SHUTDOWN_DRAIN:-5s} # longer than the nginx file's keepalive_timeout

pids=()
# shellcheck disable=SC2317 # run by the traps
stop_all() {
	trap - EXIT INT TERM
	echo "stopping: replicas drain for ${SHUTDOWN_DRAIN}, then nginx and redis-server"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait || true
}
trap stop_all EXIT
trap 'exit 0' INT TERM

# until_ready NAME ADDR: the service's own healthcheck (GET /ready), bounded.
until_ready() {
	for _ in $(seq 300); do
		if ADDR=$2 "$BIN" healthcheck >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "$1 at $2 did not become ready" >&2
	exit 1
}

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
	--dir "$WORK_DIR" --loglevel warning >"$WORK_DIR/redis.log" 2>&1 &
pids+=($!)
echo "redis-server on 127.0.0.1:$REDIS_PORT"

export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export TRUSTED_PROXIES=${TRUSTED_PROXIES:-127.0.0.1} # nginx's address: clients are told apart by X-Forwarded-For
for i in 1 2 3; do
	port=${PORTS[$((i - 1))]}
	mkdir -p "$WORK_DIR/r$i"
	# Each replica its own embedded vector directory: never shared (use Qdrant
	# with QDRANT_URL for one set of collections across replicas).
	ADDR=127.0.0.1:$port REPLICA_ID=r$i VECTOR_DATA_DIR=$WORK_DIR/r$i/vector \
		"$BIN" serve >"$WORK_DIR/r$i/log" 2>&1 &
	pids+=($!)
	until_ready "r$i" "127.0.0.1:$port"
	echo "r$i on 127.0.0.1:$port (log $WORK_DIR/r$i/log)"
done

# The repository's nginx file, with only the addresses changed; nginx runs
# unprivileged with its pid, logs and temp files in WORK_DIR.
sed -e "s/10\.0\.0\.11:8000/127.0.0.1:${PORTS[0]}/" \
	-e "s/10\.0\.0\.12:8000/127.0.0.1:${PORTS[1]}/" \
	-e "s/10\.0\.0\.13:8000/127.0.0.1:${PORTS[2]}/" \
	-e "s/listen 80;/listen 127.0.0.1:$LB_PORT;/" "$SITE" >"$WORK_DIR/advanced-backend.conf"
cat >"$WORK_DIR/nginx.conf" <<CONF
worker_processes 1;
pid $WORK_DIR/nginx.pid;
error_log $WORK_DIR/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK_DIR/body;
  proxy_temp_path $WORK_DIR/proxy;
  fastcgi_temp_path $WORK_DIR/fastcgi;
  uwsgi_temp_path $WORK_DIR/uwsgi;
  scgi_temp_path $WORK_DIR/scgi;
  include $WORK_DIR/advanced-backend.conf;
}
CONF
"$NGINX" -p "$WORK_DIR" -e "$WORK_DIR/nginx-error.log" -c "$WORK_DIR/nginx.conf" -g 'daemon off;' &
pids+=($!)
until_ready nginx "127.0.0.1:$LB_PORT"
echo "nginx on 127.0.0.1:$LB_PORT with $SITE"
echo "fleet up: http://127.0.0.1:$LB_PORT -> r1 r2 r3, Redis 127.0.0.1:$REDIS_PORT; Ctrl-C stops it"

# Until Ctrl-C, or until one of the processes ends on its own (an error).
wait -n "${pids[@]}" || true
echo "a process of the fleet ended on its own; see $WORK_DIR" >&2
exit 1
