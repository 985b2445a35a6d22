#!/usr/bin/env bash
# Run the service with the settings of a .env file: .env when it exists,
# else .env.example (every setting, its default and one line of help;
# generated from the declarations). Copy .env.example to .env and edit it:
#
#   cp .env.example .env       # then change what you need, e.g. ADDR or LOG_LEVEL
#   make lean                  # or make hybrid / prodapi / full
#   examples/run/run.sh        # BIN=dist/full/advanced-backend for another variant
#
# Flags after the script's name go to `serve` and win over the file
# (examples/run/run.sh --addr 127.0.0.1:8080). ENV_FILE names another file.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BIN:-dist/lean/advanced-backend}
env_file=${ENV_FILE:-}
if [ -z "$env_file" ]; then
  env_file=.env
  [ -f "$env_file" ] || env_file=.env.example
fi
[ -x "$bin" ] || { echo "run: $bin is missing: make lean (or set BIN)" >&2; exit 1; }
echo "run: $bin with the settings of $env_file" >&2
set -a # every assignment of the file is exported to the service
case $env_file in */*) ;; *) env_file=./$env_file ;; esac
# shellcheck disable=SC1090 # the file is the user's choice
. "$env_file"
set +a
exec "$bin" serve "$@"
